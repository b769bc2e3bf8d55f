"""The technician page ``/t/<token>`` (hooks: website_route_rules).

A phone page without desk login: the signed token in the path says which technician
it is for. A refused token renders a plain bilingual "link expired" page (the reason
is logged, never shown). A good one renders the shell; the jobs come from
``gigafibre_fsm.api.technician`` and the script is inlined from
``public/js/technician_page.js`` (after the shared ``page_api.js``: gigafibre_fsm.public_pages)
so the page does not depend on ``bench build``.
"""

from __future__ import annotations

import frappe

from gigafibre_fsm.dispatch.technician_page import TechnicianLinkError, technician_for
from gigafibre_fsm.public_pages import page_api, script

no_cache = 1
sitemap = 0


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
	context.page_api = page_api()
	context.script = script("technician_page.js")
	return context
