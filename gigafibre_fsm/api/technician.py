"""The technician page's endpoints (``/api/method/gigafibre_fsm.api.technician.<name>``).

Guest-callable: the signed link token of ``/t/<token>`` is the proof of who calls; every
refusal gets one message. Rate-limited per IP and per token; the work is done by
gigafibre_fsm.dispatch.technician_page (read its docstring: actions applied once per id).
"""

from __future__ import annotations

import frappe
from frappe.rate_limiter import rate_limit

from gigafibre_fsm.dispatch import technician_page
from gigafibre_fsm.permissions import text_arguments


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
@text_arguments("token")
@rate_limit(limit=600, seconds=60)
@rate_limit(key="token", limit=60, seconds=60)
def get_jobs(token: str) -> dict:
	"""Today's and upcoming jobs of the link's technician, and the offers made to them."""
	return technician_page.jobs_for(technician_page.technician_for(token))


@frappe.whitelist(allow_guest=True, methods=["POST"])
@text_arguments("token")
@rate_limit(limit=1200, seconds=60)
@rate_limit(key="token", limit=120, seconds=60)
def act(token: str, action: dict) -> dict:
	"""Apply one queued action of the page, once per ``action["id"]``.

	``action``: ``{"id": client UUID, "type": set_status|accept_offer|decline_offer|
	add_note|add_photo|scan_label, "job" | "offer", "status" | "reason" | "note" | "photo"
	(an image data URL), "at": ISO time the technician acted (optional)}``.
	Returns ``{"id", "type", "result", "replayed"}``; a replay returns the first result
	with ``replayed`` true.
	"""
	return technician_page.act(technician_page.technician_for(token), action)
