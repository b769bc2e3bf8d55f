"""The QR page ``/q/<mac>`` (hooks: website_route_rules): a customer scans the sticker
on their modem, proves who they are with a code texted to the phone on file, then sees
a plain-language state of that device (gigafibre_fsm.api.qr).

The page never looks the MAC up: it renders the same shell for any MAC, known or not,
so the page itself tells nothing about what exists. Everything else happens through
the API, which answers the same way for unknown MACs.
"""

from __future__ import annotations

import re

import frappe

from gigafibre_fsm.public_pages import page_api

no_cache = 1
sitemap = 0

# what a MAC can be spelled with (colons, dashes, dots, spaces); anything else is dropped
_NOT_MAC = re.compile(r"[^0-9A-Fa-f:.\- ]")


def get_context(context):
	context.no_cache = 1
	context.no_header = 1
	context.no_breadcrumbs = 1
	context.title = "Gigafibre · Diagnostic"
	context.mac = _NOT_MAC.sub("", str(frappe.form_dict.get("mac") or ""))[:32]
	context.api = "/api/method/gigafibre_fsm.api.qr."
	context.page_api = page_api()
	return context
