"""Pure rules of the customer communications: phone numbers, SMS consent, the phone menu,
3CX call journal entries. No frappe, no network, no clock (time is passed in)."""
