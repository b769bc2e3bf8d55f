"""Billing endpoints for staff (/api/method/gigafibre_fsm.api.billing.<name>)."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import getdate

from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.permissions import ACCOUNTS_MANAGER, FSM_MANAGER, fsm_api

# A billing run issues submitted Sales Invoices for the whole book: FSM Managers, and ERPNext's
# Accounts Manager (who owns the books); not Accounts User, who only keys in single documents.
BILLERS = (FSM_MANAGER, ACCOUNTS_MANAGER)


def _as_of(value) -> object:
	if value in (None, ""):
		return getdate()
	try:
		return getdate(value) if isinstance(value, str) else None
	except (ValueError, OverflowError, TypeError):
		pass
	frappe.throw(_("as_of must be a date, such as 2026-12-01"), GigafibreValidationError)


def _flag(value) -> bool:
	if isinstance(value, bool):
		return value
	if value in (0, 1, "0", "1", "true", "false", "True", "False", None, ""):
		return str(value).lower() in ("1", "true")
	frappe.throw(_("dry_run must be true or false"), GigafibreValidationError)


@fsm_api(roles=BILLERS, write=True)
def run_billing(as_of: str | None = None, dry_run: bool | int | str = False) -> dict:
	"""Bill every subscription due on ``as_of`` (default today): one submitted Sales Invoice per
	customer and billing date, each charge once. Returns the queued Billing Run
	(``{"run", "status"}``; progress as realtime ``gigafibre_fsm:billing_run`` events, the summary
	on the Billing Run). With ``dry_run``, returns what would be invoiced, per customer and in
	total, and writes nothing."""
	day = _as_of(as_of)
	if day is None:
		frappe.throw(_("as_of must be a date, such as 2026-12-01"), GigafibreValidationError)
	from gigafibre_fsm.customers import billing

	if _flag(dry_run):
		return billing.dry_run(day)
	name = billing.enqueue_run(day, frappe.session.user)
	return {"run": name, "status": "Queued", "as_of": day.isoformat()}
