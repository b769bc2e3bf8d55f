"""Permission helpers for whitelisted methods.

``fsm_api`` bundles ``frappe.whitelist`` with a role check; ``fsm_api(write=True)``
also restricts the method to POST. Document-level checks use ``get_doc_for``.

Unlike ``frappe.only_for``, the role check here also runs in tests, so tests can
prove that a role is refused.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import re
import types
import typing
from collections.abc import Callable, Iterable

import frappe
from frappe import _

from gigafibre_fsm.exceptions import ForbiddenError, GigafibreValidationError

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
	if not name or not isinstance(name, str):
		frappe.throw(_("{0} {1} not found").format(_(doctype), name), frappe.DoesNotExistError)
	# a missing one raises DoesNotExistError with the same message: no exists() query first
	doc = frappe.get_doc(doctype, name)
	doc.check_permission(ptype)
	return doc


def fsm_api(
	*, roles: Iterable[str] = (), write: bool = False, allow_guest: bool = False
) -> Callable[[Callable], Callable]:
	"""Whitelist a function for /api/method with a role check.

	``write=True`` marks a mutation: POST only. Arguments must be type-annotated
	(``require_type_annotated_api_methods`` is on in hooks.py). Frappe itself checks only
	that they are annotated: the ``api/`` modules use ``from __future__ import annotations``,
	so the annotations are strings, which Frappe's ``transform_parameter_types`` skips
	(v15 and v16 alike); ``call_with_signature`` checks the values against them instead.
	"""
	roles = tuple(roles)
	methods = ["POST"] if write else ["GET", "POST"]

	def decorator(fn: Callable) -> Callable:
		@functools.wraps(fn)
		def wrapper(*args, **kwargs):
			require_roles(roles)
			return call_with_signature(fn, args, kwargs)

		wrapper.fsm_roles = roles
		wrapper.fsm_write = write
		return frappe.whitelist(methods=methods, allow_guest=allow_guest)(wrapper)

	return decorator


@functools.cache
def _hints(fn: Callable) -> dict:
	try:
		return typing.get_type_hints(fn)
	except Exception:  # an annotation that cannot be resolved is not checked
		return {}


_INTEGER = re.compile(r"^-?\d{1,18}$")
_TRUE, _FALSE = {"1", "true", "True", "yes"}, {"0", "false", "False", "no", ""}


def _as(kind, value):
	"""``value`` as ``kind`` (as it arrives over HTTP: JSON values or form text), or raise ValueError."""
	if typing.get_origin(kind) is list:  # list[str]: each item checked too
		items = _as(list, value)
		(item_kind,) = typing.get_args(kind) or (object,)
		return [_as(item_kind, item) for item in items]
	kind = typing.get_origin(kind) or kind
	if kind is str:
		if isinstance(value, str):
			return value
	elif kind is bool:
		if isinstance(value, bool):
			return value
		if isinstance(value, int) and value in (0, 1):
			return bool(value)
		if isinstance(value, str) and value.strip() in _TRUE | _FALSE:
			return value.strip() in _TRUE
	elif kind is int:
		if isinstance(value, int) and not isinstance(value, bool):
			return value
		if isinstance(value, str) and _INTEGER.match(value.strip()):
			return int(value)
	elif kind is float:
		if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
			return float(value)
		if isinstance(value, str):
			try:
				number = float(value)
			except ValueError:
				number = math.nan
			if math.isfinite(number):
				return number
	elif kind in (list, dict):
		if isinstance(value, str):
			try:
				value = json.loads(value)
			except ValueError:
				pass
		if isinstance(value, kind):
			return value
	else:  # a type these endpoints do not use (object, a class…): not checked
		return value
	raise ValueError(kind)


def _checked(name: str, value, hint):
	union = typing.get_origin(hint) in (typing.Union, types.UnionType)
	options = typing.get_args(hint) if union else (hint,)
	if value is None and type(None) in options:
		return None
	kinds = [k for k in options if k is not type(None)]
	for kind in kinds:
		try:
			return _as(kind, value)
		except ValueError:
			continue
	expected = " or ".join(str(k) if typing.get_args(k) else getattr(k, "__name__", str(k)) for k in kinds)
	frappe.throw(
		_("{0} must be of type {1}").format(name, expected),
		GigafibreValidationError,
		title=_("Invalid argument"),
	)


def call_with_signature(fn: Callable, args: tuple, kwargs: dict):
	"""Call ``fn`` with its arguments checked against its annotations, as Frappe would if it
	could read them (the ``api/`` modules' annotations are strings, which Frappe skips):
	arguments it does not take are dropped, a missing required one or one of the wrong type
	(a list where a record name is expected, text that is not a number…) is a clear 417, never
	a TypeError, a 500 or a filter built from the caller's value. Text for numbers, booleans
	and JSON for lists and objects is converted, as form-encoded requests send them."""
	params = inspect.signature(fn).parameters
	if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
		kwargs = {k: v for k, v in kwargs.items() if k in params}
	given = {**dict(zip(params, args, strict=False)), **kwargs}
	missing = [
		name
		for name, p in params.items()
		if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in given
	]
	if missing:
		frappe.throw(_("Missing argument: {0}").format(", ".join(missing)), GigafibreValidationError)
	hints = _hints(fn)
	checked = {
		name: _checked(name, value, hints[name]) if name in hints else value for name, value in given.items()
	}
	return fn(**checked)


def text_arguments(*names: str, max_length: int = 4096) -> Callable[[Callable], Callable]:
	"""Guest endpoints: refuse (417) an argument of ``names`` that is not text, or is longer
	than ``max_length``, before anything reads it, then call as ``call_with_signature``. Put it above ``rate_limit``: Frappe's keyed
	rate limiter joins the raw value into its cache key and fails on a number or a list."""

	def decorator(fn: Callable) -> Callable:
		@functools.wraps(fn)
		def wrapper(*args, **kwargs):
			for name in names:
				value = kwargs.get(name, frappe.form_dict.get(name))
				if value is not None and (not isinstance(value, str) or len(value) > max_length):
					frappe.throw(
						_("{0} must be text of at most {1} characters").format(name, max_length),
						GigafibreValidationError,
					)
			return call_with_signature(fn, args, kwargs)

		return wrapper

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
