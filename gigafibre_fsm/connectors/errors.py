"""Typed errors shared by every connector."""

from __future__ import annotations


class ConnectorError(Exception):
	"""A call to an outside system failed. ``source`` names the system."""

	source = "connector"

	def __init__(self, message: str, *, source: str | None = None, status: int | None = None):
		super().__init__(message)
		if source:
			self.source = source
		self.status = status


class ConnectorTimeout(ConnectorError):
	"""The peer did not answer within the configured timeout."""


class ConnectorUnavailable(ConnectorError):
	"""The peer could not be reached (refused, DNS, TLS) or is not configured."""


class ConnectorAuthError(ConnectorError):
	"""The peer refused our credentials."""


class ConnectorResponseError(ConnectorError):
	"""The peer answered, but with an error or something we cannot read."""
