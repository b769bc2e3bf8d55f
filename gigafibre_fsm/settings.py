"""Typed access to the Single doctype "Gigafibre Settings".

``get_settings()`` returns a frozen ``AppSettings`` (gigafibre_fsm.core.settings)
that connectors take as plain values; secrets are decrypted with get_password.
Each process keeps the last one it built, keyed on the site and the document's
``modified``: every change goes through ``save()`` (which moves ``modified`` and clears
the cached document in every worker), so a diagnosis does not read and decrypt the
twelve secrets again on every request.
"""

from __future__ import annotations

import frappe

from gigafibre_fsm.core.settings import AppSettings, build_settings

DOCTYPE = "Gigafibre Settings"


_LAST: tuple[tuple, AppSettings] | None = None


def get_settings() -> AppSettings:
	global _LAST

	doc = frappe.get_cached_doc(DOCTYPE)
	key = (frappe.local.site, str(doc.modified))
	last = _LAST
	if last is not None and last[0] == key:
		return last[1]
	settings = _build(doc)
	_LAST = (key, settings)
	return settings


def _build(doc) -> AppSettings:
	values, secrets = {}, {}
	for df in doc.meta.fields:
		if df.fieldtype == "Password":
			secrets[df.fieldname] = doc.get_password(df.fieldname, raise_exception=False) or ""
		elif df.fieldtype not in frappe.model.no_value_fields:
			values[df.fieldname] = doc.get(df.fieldname)
	return build_settings(values, secrets)
