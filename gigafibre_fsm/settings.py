"""Typed access to the Single doctype "Gigafibre Settings".

``get_settings()`` returns a frozen ``AppSettings`` (gigafibre_fsm.core.settings)
that connectors take as plain values; secrets are decrypted with get_password.
"""

from __future__ import annotations

import frappe

from gigafibre_fsm.core.settings import AppSettings, build_settings

DOCTYPE = "Gigafibre Settings"


def get_settings() -> AppSettings:
	doc = frappe.get_cached_doc(DOCTYPE)
	values, secrets = {}, {}
	for df in doc.meta.fields:
		if df.fieldtype == "Password":
			secrets[df.fieldname] = doc.get_password(df.fieldname, raise_exception=False) or ""
		elif df.fieldtype not in frappe.model.no_value_fields:
			values[df.fieldname] = doc.get(df.fieldname)
	return build_settings(values, secrets)
