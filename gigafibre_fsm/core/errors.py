"""Plain exceptions raised by the pure rules.

The Frappe layer maps each to a Frappe exception of the same meaning
(see gigafibre_fsm/exceptions.py), so a rule that refuses bad input always
reaches the user as a clear, translated message.

Messages are English source strings; ``args`` carry the values to format so the
Frappe layer can translate the template and then format it.
"""

from __future__ import annotations


class CoreError(Exception):
	"""Base of every error a pure rule raises."""

	def __init__(self, message: str, *args: object):
		super().__init__(message.format(*args) if args else message)
		self.template = message
		self.params = args


class InvalidInput(CoreError):
	"""The values given to a rule are not acceptable (maps to ValidationError)."""


class IllegalTransition(InvalidInput):
	"""A status change that the state machine does not allow."""


class Conflict(CoreError):
	"""The change clashes with the current state (a claim already taken, an overlap)."""


class NotFound(CoreError):
	"""Something the rule needs does not exist."""


class Forbidden(CoreError):
	"""The caller may not do this (bad token, expired link)."""
