"""The QR page's endpoints (``/api/method/gigafibre_fsm.api.qr.<name>``), for ``/q/<mac>``.

Guest-callable, POST only, rate-limited per IP; arguments checked here, the work done by
gigafibre_fsm.network.qr (codes, sessions, what the visitor may learn: read its docstring).
"""

from __future__ import annotations

import frappe
from frappe.rate_limiter import rate_limit

from gigafibre_fsm.network import qr
from gigafibre_fsm.network.qr import REQUEST_WINDOW
from gigafibre_fsm.permissions import text_arguments


@frappe.whitelist(allow_guest=True, methods=["POST"])
@text_arguments("mac", "phone", max_length=512)
@rate_limit(limit=10, seconds=REQUEST_WINDOW)
def request_code(mac: str, phone: str) -> dict:
	"""Text a code to the phone on file for this device, if ``phone`` is that number.

	Always answers ``{"sent": True, "message": ...}``."""
	return qr.request_code(mac, phone)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@text_arguments("mac", "code", max_length=512)
@rate_limit(limit=30, seconds=REQUEST_WINDOW)
def verify_code(mac: str, code: str) -> dict:
	"""``{"ok": True, "token": ...}`` for the right code; one refusal for anything else."""
	return qr.verify_code(mac, code)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@text_arguments("token", max_length=512)
@rate_limit(limit=60, seconds=REQUEST_WINDOW)
def get_diagnostic(token: str, refresh: bool = False) -> dict:
	"""The plain-language state of the session's device (gigafibre_fsm.core.qr_summary)."""
	return qr.diagnostic(token, refresh)
