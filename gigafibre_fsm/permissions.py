"""Permission helpers for whitelisted methods.

``fsm_api`` bundles ``frappe.whitelist`` with a role check; ``fsm_api(write=True)``
also restricts the method to POST. Document-level checks use ``get_doc_for``.

Unlike ``frappe.only_for``, the role check here also runs in tests, so tests can
prove that a role is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import frappe
from frappe import _

from gigafibre_fsm.exceptions import ForbiddenError

DISPATCHER = "Dispatcher"
TECHNICIAN = "Technician"
CUSTOMER_SERVICE = "Customer Service"
NETWORK_OPERATOR = "Network Operator"
FSM_MANAGER = "FSM Manager"
# ERPNext's role for the books (not shipped by this app): it may start a billing run.
ACCOUNTS_MANAGER = "Accounts Manager"
APP_ROLES = (DISPATCHER, TECHNICIAN, CUSTOMER_SERVICE, NETWORK_OPERATOR, FSM_MANAGER)
# Roles that pass every role check of the app.
SUPER_ROLES = frozenset({"System Manager", FSM_MANAGER})


def has_any_role(roles: Iterable[str], user: str | None = None) -> bool:
	user = user or frappe.session.user
	if user == "Administrator":
		return True
	user_roles = set(frappe.get_roles(user))
	return bool(user_roles & SUPER_ROLES) or bool(user_roles & set(roles))


def require_roles(roles: Iterable[str], user: str | None = None) -> None:
	"""Raise ForbiddenError unless the user has one of ``roles`` (or a super role)."""
	roles = tuple(roles)
	if not roles or has_any_role(roles, user):
		return
	frappe.throw(
		_("This action is only allowed for {0}").format(", ".join(_(r) for r in roles)),
		ForbiddenError,
		title=_("Not Permitted"),
	)


def get_doc_for(doctype: str, name: str, ptype: str = "read"):
	"""Load a document and check the user's permission ``ptype`` on it."""
	if not name or not frappe.db.exists(doctype, name):
		frappe.throw(_("{0} {1} not found").format(_(doctype), name), frappe.DoesNotExistError)
	doc = frappe.get_doc(doctype, name)
	doc.check_permission(ptype)
	return doc


def fsm_api(
	*, roles: Iterable[str] = (), write: bool = False, allow_guest: bool = False
) -> Callable[[Callable], Callable]:
	"""Whitelist a function for /api/method with a role check.

	``write=True`` marks a mutation: POST only. Arguments must be type-annotated
	(``require_type_annotated_api_methods`` is on in hooks.py). Frappe checks only that
	they are annotated: the ``api/`` modules use ``from __future__ import annotations``,
	so the annotations are strings, which Frappe's ``transform_parameter_types`` skips
	(v15 and v16 alike). Every endpoint validates its own arguments.
	"""
	roles = tuple(roles)
	methods = ["POST"] if write else ["GET", "POST"]

	def decorator(fn: Callable) -> Callable:
		@functools.wraps(fn)
		def wrapper(*args, **kwargs):
			require_roles(roles)
			return fn(*args, **kwargs)

		wrapper.fsm_roles = roles
		wrapper.fsm_write = write
		return frappe.whitelist(methods=methods, allow_guest=allow_guest)(wrapper)

	return decorator


PLANNING_ROLES = frozenset({DISPATCHER, CUSTOMER_SERVICE, NETWORK_OPERATOR, *SUPER_ROLES})


def _technician_only(user: str) -> bool:
	roles = set(frappe.get_roles(user))
	return user != "Administrator" and TECHNICIAN in roles and not (roles & PLANNING_ROLES)


def technician_only_condition(user: str | None, column: str) -> str:
	"""permission_query_conditions: restrict a technician-only user to their own rows."""
	user = user or frappe.session.user
	if not _technician_only(user):
		return ""
	tech = frappe.db.get_value("Technician", {"user": user}, "name") or ""
	return f"{column} = {frappe.db.escape(tech)}"


def technician_owns(technician: str | None, user: str | None) -> bool:
	"""has_permission hook: a technician-only user may only open their own rows.

	Always a boolean. A permission hook can only refuse what the role permissions
	allow, never grant more, so True means "no objection" on both Frappe versions:
	v15 takes the first hook answer that is not None (None = no opinion), while v16
	(frappe/frappe#24253) refuses on any falsy answer, None included.
	"""
	user = user or frappe.session.user
	if not _technician_only(user):
		return True
	return bool(technician) and technician == frappe.db.get_value("Technician", {"user": user}, "name")
