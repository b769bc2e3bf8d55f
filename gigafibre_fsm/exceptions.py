"""App exceptions for the Frappe layer.

Each subclasses the Frappe exception with the same meaning, so Frappe answers
with the right HTTP status and the desk shows a clear message. Pure rules raise
the plain exceptions of gigafibre_fsm.core.errors; ``raise_core_error`` (or the
``core_errors`` context manager) turns them into these, translated.
"""

from __future__ import annotations

from contextlib import contextmanager

import frappe
from frappe import _

from gigafibre_fsm.connectors import errors as connector_errors
from gigafibre_fsm.core import errors as core_exc


class GigafibreValidationError(frappe.ValidationError):
	"""Bad input refused by one of the app's rules (HTTP 417)."""


class IllegalTransitionError(GigafibreValidationError):
	"""A status change the state machine refuses."""


class ConflictError(GigafibreValidationError):
	"""The change clashes with the current state (already claimed, overlap): HTTP 409."""

	http_status_code = 409


class NotFoundError(frappe.DoesNotExistError):
	"""Something the request names does not exist (HTTP 404)."""


class ForbiddenError(frappe.PermissionError):
	"""The caller may not do this (HTTP 403)."""


class ConfirmationRequiredError(GigafibreValidationError):
	"""A destructive action was asked for without the explicit confirmation it needs."""


class ExternalServiceError(frappe.ValidationError):
	"""An outside system (GenieACS, Twilio, ...) failed or is not configured."""


_CORE_MAP: list[tuple[type[Exception], type[Exception]]] = [
	(core_exc.IllegalTransition, IllegalTransitionError),
	(core_exc.InvalidInput, GigafibreValidationError),
	(core_exc.Conflict, ConflictError),
	(core_exc.NotFound, NotFoundError),
	(core_exc.Forbidden, ForbiddenError),
	(core_exc.CoreError, GigafibreValidationError),
]


def frappe_class_for(error: Exception) -> type[Exception]:
	if isinstance(error, connector_errors.ConnectorError):
		return ExternalServiceError
	for core_cls, frappe_cls in _CORE_MAP:
		if isinstance(error, core_cls):
			return frappe_cls
	return GigafibreValidationError


def translated_message(error: Exception) -> str:
	"""The error's message, translated: core errors carry an English template and its values."""
	if isinstance(error, core_exc.CoreError):
		params = [_(p) if isinstance(p, str) else p for p in error.params]
		return _(error.template).format(*params)
	if isinstance(error, connector_errors.ConnectorError):
		return _("{0} did not answer as expected: {1}").format(error.source, str(error))
	return str(error)


def raise_core_error(error: Exception, title: str | None = None):
	"""frappe.throw the Frappe equivalent of a core or connector error."""
	frappe.throw(translated_message(error), frappe_class_for(error), title=title)


@contextmanager
def core_errors(title: str | None = None):
	"""Run pure rules and connectors; their typed errors reach the user translated."""
	try:
		yield
	except (core_exc.CoreError, connector_errors.ConnectorError) as e:
		raise_core_error(e, title)
