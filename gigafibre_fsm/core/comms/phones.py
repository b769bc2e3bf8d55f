"""Phone numbers as E.164 (``+15145550123``), read with Google's libphonenumber port.

Stored numbers come in every shape (``514-555-0123``, ``(514) 555-0123``, ``1 514 555 0123``);
``to_e164`` reads any of them (default region Canada) and ``stored_forms`` lists the shapes a
number may have been typed in, so a lookup can ask the database for all of them at once with an
indexed ``in (...)`` instead of scanning every row.
"""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "CA"
MAX_LENGTH = 40


def to_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
	"""The number in E.164, or None when it is empty or cannot be a phone number."""
	if not isinstance(raw, str):
		return None
	text = raw.strip()
	if not text or len(text) > MAX_LENGTH:
		return None
	try:
		number = phonenumbers.parse(text, region)
	except phonenumbers.NumberParseException:
		return None
	if not phonenumbers.is_possible_number(number):
		return None
	return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def stored_forms(e164: str) -> list[str]:
	"""The ways the number ``e164`` is commonly written in a record (distinct, E.164 first)."""
	number = phonenumbers.parse(e164, None)
	national = str(number.national_number)
	forms = [
		e164,
		e164[1:],
		national,
		phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
		phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
	]
	if number.country_code == 1 and len(national) == 10:  # North America: NPA NXX XXXX
		a, b, c = national[:3], national[3:6], national[6:]
		for local in (f"{a}-{b}-{c}", f"({a}) {b}-{c}", f"{a} {b} {c}", f"{a}.{b}.{c}", f"({a}) {b} {c}"):
			forms += [local, f"1-{local}", f"1 {local}", f"+1 {local}", f"+1-{local}"]
		forms.append(f"1{national}")
	return list(dict.fromkeys(forms))


def masked(e164: str | None) -> str:
	"""For logs: the last four digits only."""
	return f"…{e164[-4:]}" if e164 else ""
