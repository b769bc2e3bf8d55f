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
	]
}


def after_install():
	after_migrate()


def after_migrate():
	from gigafibre_fsm.flows.seeds import install_seeds

	make_custom_fields()
	ensure_token_secret()
	install_seeds()


def make_custom_fields():
	create_custom_fields(CUSTOM_FIELDS, ignore_validate=True)


def ensure_token_secret():
	"""Give a new site its own token-signing secret (never a shared default)."""
	doc = frappe.get_single("Gigafibre Settings")
	if doc.get_password("token_signing_secret", raise_exception=False):
		return
	doc.token_signing_secret = secrets.token_urlsafe(48)
	doc.flags.ignore_permissions = True
	doc.save()
