"""Install and migrate hooks: custom fields on ERPNext doctypes and first-run secrets."""

from __future__ import annotations

import secrets

import frappe
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

# Fields the migrated customers use (shared/FACTS.md): never mobile_no / email_id.
CUSTOM_FIELDS = {
	"Customer": [
		{
			"fieldname": "gigafibre_section",
			"fieldtype": "Section Break",
			"label": "Gigafibre",
			"insert_after": "email_id",
			"collapsible": 0,
		},
		{
			"fieldname": "cell_phone",
			"fieldtype": "Data",
			"options": "Phone",
			"label": "Cell Phone",
			"insert_after": "gigafibre_section",
			"in_standard_filter": 1,
			"search_index": 1,  # inbound SMS and calls are matched by it
		},
		{
			"fieldname": "email_billing",
			"fieldtype": "Data",
			"options": "Email",
			"label": "Billing Email",
			"insert_after": "cell_phone",
		},
		{
			"fieldname": "gigafibre_col",
			"fieldtype": "Column Break",
			"insert_after": "email_billing",
		},
		{
			"fieldname": "legacy_account_id",
			"fieldtype": "Data",
			"label": "Legacy Account ID",
			"insert_after": "gigafibre_col",
			"read_only": 1,
			"no_copy": 1,
			"unique": 1,
			"search_index": 1,
		},
		{
			"fieldname": "gigafibre_billing_day",
			"fieldtype": "Int",
			"label": "Billing Day",
			"insert_after": "legacy_account_id",
			"non_negative": 1,
			"description": "Day of the month invoices are issued (1 to 31; empty means the 1st)",
		},
		# Referrals (gigafibre_fsm.customers.referrals): the customer's own code, made on insert
		# and backfilled on migrate; disabling it refuses new referrals with it.
		{
			"fieldname": "gigafibre_referral_code",
			"fieldtype": "Data",
			"label": "Referral Code",
			"insert_after": "gigafibre_billing_day",
			"read_only": 1,
			"no_copy": 1,
			"unique": 1,
			"search_index": 1,
		},
		{
			"fieldname": "gigafibre_referral_disabled",
			"fieldtype": "Check",
			"label": "Referral Code Disabled",
			"insert_after": "gigafibre_referral_code",
			"no_copy": 1,
		},
		# Stripe (gigafibre_fsm.customers.payments): the saved card for autopay, and the account
		# page's link counter (bumping it revokes every /compte/<token> link issued before).
		{
			"fieldname": "gigafibre_autopay",
			"fieldtype": "Check",
			"label": "Autopay",
			"insert_after": "gigafibre_referral_disabled",
			"no_copy": 1,
			"description": "Charge each new invoice to the saved card",
		},
		{
			"fieldname": "gigafibre_stripe_customer",
			"fieldtype": "Data",
			"label": "Stripe Customer",
			"insert_after": "gigafibre_autopay",
			"read_only": 1,
			"no_copy": 1,
		},
		{
			"fieldname": "gigafibre_payment_method",
			"fieldtype": "Data",
			"label": "Saved Card (Stripe)",
			"insert_after": "gigafibre_stripe_customer",
			"read_only": 1,
			"no_copy": 1,
		},
		# The saved card as Stripe's PaymentMethod describes it (gigafibre_fsm.customers.saved_cards,
		# read on each card webhook); the last expiry notice sent (once per card and expiry).
		{
			"fieldname": "gigafibre_card_brand",
			"fieldtype": "Data",
			"label": "Card Brand",
			"insert_after": "gigafibre_payment_method",
			"read_only": 1,
			"no_copy": 1,
		},
		{
			"fieldname": "gigafibre_card_last4",
			"fieldtype": "Data",
			"label": "Card Last 4 Digits",
			"insert_after": "gigafibre_card_brand",
			"read_only": 1,
			"no_copy": 1,
		},
		{
			"fieldname": "gigafibre_card_expiry",
			"fieldtype": "Data",
			"label": "Card Expiry (MM/YYYY)",
			"insert_after": "gigafibre_card_last4",
			"read_only": 1,
			"no_copy": 1,
		},
		{
			"fieldname": "gigafibre_card_exp_month",
			"fieldtype": "Int",
			"label": "Card Expiry Month",
			"insert_after": "gigafibre_card_expiry",
			"read_only": 1,
			"no_copy": 1,
			"hidden": 1,
		},
		{
			"fieldname": "gigafibre_card_exp_year",
			"fieldtype": "Int",
			"label": "Card Expiry Year",
			"insert_after": "gigafibre_card_exp_month",
			"read_only": 1,
			"no_copy": 1,
			"hidden": 1,
			"search_index": 1,  # the daily expiry warning selects by it
		},
		{
			"fieldname": "gigafibre_card_expiry_notice",
			"fieldtype": "Data",
			"label": "Card Expiry Notice Sent For",
			"insert_after": "gigafibre_card_exp_year",
			"read_only": 1,
			"no_copy": 1,
			"description": "The card and expiry the last expiry notice was sent for",
		},
		{
			"fieldname": "gigafibre_account_link_version",
			"fieldtype": "Int",
			"label": "Account Link Version",
			"insert_after": "gigafibre_card_expiry_notice",
			"read_only": 1,
			"no_copy": 1,
			"hidden": 1,
		},
	],
	# The billing run (gigafibre_fsm.customers.billing): each line's exactly-once key.
	"Sales Invoice": [
		{
			"fieldname": "gigafibre_billing_run",
			"fieldtype": "Link",
			"options": "Billing Run",
			"label": "Billing Run",
			"insert_after": "customer",
			"read_only": 1,
			"no_copy": 1,
		},
		# The open Stripe Checkout Session of the invoice (reused while open: get_payment_link).
		{
			"fieldname": "gigafibre_checkout_session",
			"fieldtype": "Data",
			"label": "Stripe Checkout Session",
			"insert_after": "gigafibre_billing_run",
			"read_only": 1,
			"no_copy": 1,
		},
		{
			"fieldname": "legacy_invoice_id",
			"fieldtype": "Data",
			"label": "Legacy Invoice ID",
			"insert_after": "gigafibre_billing_run",
			"read_only": 1,
			"no_copy": 1,
			"unique": 1,
		},
	],
	# The legacy migration (gigafibre_fsm.legacy): every imported document keeps its legacy id.
	"Payment Entry": [
		{
			"fieldname": "legacy_payment_id",
			"fieldtype": "Data",
			"label": "Legacy Payment ID",
			"insert_after": "party_name",
			"read_only": 1,
			"no_copy": 1,
			"unique": 1,
		},
	],
	# Legacy staff (gigafibre_fsm.legacy.staff); technicians also get a Technician.
	"Employee": [
		{
			"fieldname": "legacy_staff_id",
			"fieldtype": "Data",
			"label": "Legacy Staff ID",
			"insert_after": "employee_name",
			"read_only": 1,
			"no_copy": 1,
			"unique": 1,
		},
	],
	"Journal Entry": [
		{
			"fieldname": "legacy_piece",
			"fieldtype": "Data",
			"label": "Legacy Piece",
			"insert_after": "cheque_date",
			"read_only": 1,
			"no_copy": 1,
			"unique": 1,
		},
	],
	"Issue": [
		{
			"fieldname": "legacy_ticket_id",
			"fieldtype": "Data",
			"label": "Legacy Ticket ID",
			"insert_after": "customer",
			"read_only": 1,
			"no_copy": 1,
			"unique": 1,
		},
	],
	"Sales Invoice Item": [
		{
			"fieldname": "gigafibre_line_key",
			"fieldtype": "Data",
			"label": "Billing Line Key",
			"insert_after": "description",
			"read_only": 1,
			"no_copy": 1,
		},
		{
			"fieldname": "gigafibre_service_location",
			"fieldtype": "Link",
			"options": "Service Location",
			"label": "Service Location",
			"insert_after": "gigafibre_line_key",
			"read_only": 1,
		},
		# A referral credit line of an invoice names its Referral (used once, given back on cancel).
		{
			"fieldname": "gigafibre_referral",
			"fieldtype": "Link",
			"options": "Referral",
			"label": "Referral",
			"insert_after": "item_name",
			"read_only": 1,
			"search_index": 1,
		},
	],
	# An Item with a download speed is an internet plan (gigafibre_fsm.customers.footprint_build).
	"Item": [
		{
			"fieldname": "gigafibre_plan_section",
			"fieldtype": "Section Break",
			"label": "Internet Plan",
			"insert_after": "brand",
			"collapsible": 1,
		},
		{
			"fieldname": "gigafibre_down_mbps",
			"fieldtype": "Int",
			"label": "Download (Mbit/s)",
			"insert_after": "gigafibre_plan_section",
			"non_negative": 1,
			"description": "Set on internet plans: the zones offer them at their price list price",
		},
		{
			"fieldname": "gigafibre_plan_col",
			"fieldtype": "Column Break",
			"insert_after": "gigafibre_down_mbps",
		},
		{
			"fieldname": "gigafibre_up_mbps",
			"fieldtype": "Int",
			"label": "Upload (Mbit/s)",
			"insert_after": "gigafibre_plan_col",
			"non_negative": 1,
		},
	],
	# SMS on the timeline (gigafibre_integrations/sms.py): Twilio's own status of a sent message
	# (Frappe's delivery_status has no "Delivered").
	"Communication": [
		{
			"fieldname": "gigafibre_sms_status",
			"fieldtype": "Data",
			"label": "SMS Status (Twilio)",
			"insert_after": "delivery_status",
			"read_only": 1,
		},
		{
			"fieldname": "legacy_message_id",
			"fieldtype": "Data",
			"label": "Legacy Message ID",
			"insert_after": "reference_name",
			"read_only": 1,
			"no_copy": 1,
			"unique": 1,
		},
	],
	# What a quotation becomes as a Service Contract (gigafibre_fsm.customers.contracts).
	"Quotation": [
		{
			"fieldname": "gigafibre_term_months",
			"fieldtype": "Int",
			"label": "Contract Term (months)",
			"insert_after": "valid_till",
			"default": "24",
			"non_negative": 1,
			"description": "The term of the service contract made from this quotation; 0: month to month",
		},
		{
			"fieldname": "gigafibre_service_location",
			"fieldtype": "Link",
			"options": "Service Location",
			"label": "Service Location",
			"insert_after": "gigafibre_term_months",
			"description": "Where the plans are installed; empty: the customer's only location",
		},
		# A quotation may carry a referral code (checked on save, recorded on submit).
		{
			"fieldname": "referral_code",
			"fieldtype": "Data",
			"label": "Referral Code",
			"insert_after": "party_name",
			"description": "The referral code the customer gave (checked on save)",
		},
	],
}


APP = "gigafibre_fsm"
MODULES = ("Flows", "Dispatch", "Network", "Customers", "Gigafibre Integrations", "Legacy")


def before_install():
	"""Make sure Frappe will sync this app's doctypes, or stop before anything is written.

	A process that loaded the module map from the site's cache while the app was not yet
	in sites/apps.txt (a site created before the app was added) keeps that stale map in
	``frappe.local.app_modules``: ``install_app`` clears Redis, but ``sync_for`` would
	still find no module of this app, install nothing and mark the app installed. Rebuild
	the map from apps.txt (the cache was just cleared); refuse plainly if it still lacks us.
	"""
	if not (frappe.local.app_modules or {}).get(APP):
		frappe.setup_module_map()
	if not (frappe.local.app_modules or {}).get(APP):
		frappe.throw(
			frappe._(
				"Frappe does not see the modules of {0}: add it to sites/apps.txt, run "
				"'bench --site {1} clear-cache', then install it again."
			).format(APP, frappe.local.site),
			title=frappe._("Installation stopped"),
		)


def after_install():
	if not frappe.db.exists("DocType", "Gigafibre Settings"):
		frappe.throw(
			frappe._(
				"The doctypes of {0} were not created on {1}: run 'bench --site {1} clear-cache', "
				"then 'bench --site {1} migrate'."
			).format(APP, frappe.local.site),
			title=frappe._("Installation incomplete"),
		)
	after_migrate()
	from gigafibre_fsm.customers.billing_book import ensure_tax_template
	from gigafibre_fsm.customers.referral_credits import allow_credit_lines

	ensure_tax_template()  # none before the setup wizard: the billing run makes it then
	# Referral credits are negative invoice lines (an existing site gets this from a patch).
	allow_credit_lines()


def before_uninstall():
	"""Remove what the app added to other apps' doctypes and the roles it shipped; Frappe
	itself removes the app's own doctypes and their records. ERPNext's records stay."""
	from gigafibre_fsm.permissions import APP_ROLES

	for doctype, fields in CUSTOM_FIELDS.items():
		for field in fields:
			name = frappe.db.get_value("Custom Field", {"dt": doctype, "fieldname": field["fieldname"]})
			if name:
				frappe.delete_doc("Custom Field", name, ignore_permissions=True, force=True)
		frappe.clear_cache(doctype=doctype)
	for role in APP_ROLES:
		if frappe.db.exists("Role", role):
			frappe.db.delete("Has Role", {"role": role})
			frappe.db.delete("Custom DocPerm", {"role": role})
			frappe.delete_doc("Role", role, ignore_permissions=True, force=True)


def after_migrate():
	from gigafibre_fsm.customers.referral_credits import setup_referrals
	from gigafibre_fsm.flows.seeds import install_seeds

	make_custom_fields()
	ensure_token_secret()
	allow_reading_support_settings()
	install_seeds()
	setup_referrals()


def make_custom_fields():
	create_custom_fields(CUSTOM_FIELDS, ignore_validate=True)


def allow_reading_support_settings():
	"""ERPNext's Issue form reads Support Settings on load, which only a System Manager may:
	every other agent got "Not permitted" on each Issue. Customer Service may read it (the
	row goes with the role at uninstall; Frappe copies the standard rules beside it)."""
	from frappe.permissions import add_permission

	from gigafibre_fsm.permissions import CUSTOMER_SERVICE

	if not frappe.db.exists("DocType", "Support Settings") or not frappe.db.exists("Role", CUSTOMER_SERVICE):
		return
	if frappe.db.exists("Custom DocPerm", {"parent": "Support Settings", "role": CUSTOMER_SERVICE}):
		return
	add_permission("Support Settings", CUSTOMER_SERVICE, 0, "read")


def ensure_token_secret():
	"""Give a new site its own token-signing secret (never a shared default)."""
	doc = frappe.get_single("Gigafibre Settings")
	if doc.get_password("token_signing_secret", raise_exception=False):
		return
	doc.token_signing_secret = secrets.token_urlsafe(48)
	doc.flags.ignore_permissions = True
	doc.save()


def leftovers() -> list[str]:
	"""What of the app is still on the site (empty after a clean uninstall): its custom
	fields on other doctypes, its roles, its doctypes."""
	from gigafibre_fsm.permissions import APP_ROLES

	found = [
		f"Custom Field {doctype}.{field['fieldname']}"
		for doctype, fields in CUSTOM_FIELDS.items()
		for field in fields
		if frappe.db.exists("Custom Field", {"dt": doctype, "fieldname": field["fieldname"]})
	]
	found += [f"Role {role}" for role in APP_ROLES if frappe.db.exists("Role", role)]
	found += [
		f"DocType {name}" for name in frappe.get_all("DocType", {"module": ["in", MODULES]}, pluck="name")
	]
	return found


def check_uninstalled() -> None:
	"""Raise unless uninstall-app left nothing behind (scripts/bench-tests.sh runs it)."""
	if found := leftovers():
		raise RuntimeError(f"uninstall-app left behind: {', '.join(found)}")
