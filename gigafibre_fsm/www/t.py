"""The technician page ``/t/<token>`` (hooks: website_route_rules).

A phone page without desk login: the signed token in the path says which technician
it is for. A refused token renders a plain bilingual "link expired" page (the reason
is logged, never shown). A good one renders the shell; the jobs come from
``gigafibre_fsm.api.technician`` and the script is inlined from
``public/js/technician_page.js`` so the page does not depend on ``bench build``.
"""

from __future__ import annotations

import functools
import os

import frappe

from gigafibre_fsm.dispatch.technician_page import TechnicianLinkError, technician_for

no_cache = 1
sitemap = 0

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(__file__)), "public", "js", "technician_page.js")


@functools.cache
def _script() -> str:
	with open(SCRIPT, encoding="utf-8") as fh:
		return fh.read()


def get_context(context):
	context.no_cache = 1
	context.no_header = 1
	context.no_breadcrumbs = 1
	token = str(frappe.form_dict.get("token") or "")
	try:
		technician = technician_for(token)
	except TechnicianLinkError:
		frappe.clear_messages()
		context.valid = False
		context.title = "Lien expiré · Link expired"
		return context
	context.valid = True
	context.title = "Gigafibre"
	context.config = {
		"token": token,
		"technician": technician,
		"technician_name": frappe.db.get_value("Technician", technician, "technician_name"),
		"api": "/api/method/gigafibre_fsm.api.technician.",
	}
	context.script = _script() if not frappe.conf.developer_mode else _script.__wrapped__()
	return context
