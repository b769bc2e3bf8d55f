"""The contract page ``/c/<token>`` (hooks: website_route_rules): a customer reads the
contract a signing link is for, types their full name, checks the box and accepts.

No login: the signed link token is the proof (``gigafibre_fsm.customers.signing``). The
page renders the same shell for any token and asks ``gigafibre_fsm.api.customers.get_contract``
for the contract, so the page itself tells nothing; every refused link gets one message.
French or English: ``?lang=`` first, else the browser's Accept-Language, else French.
"""

from __future__ import annotations

import re

import frappe

from gigafibre_fsm.public_pages import page_api

no_cache = 1
sitemap = 0

LANGS = ("fr", "en")
# what a JWT is spelled with (base64url parts and dots); anything else is dropped
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9_.\-]")
MAX_TOKEN = 4096


def page_lang() -> str:
	asked = str(frappe.form_dict.get("lang") or "").lower()[:2]
	if asked in LANGS:
		return asked
	request = getattr(frappe.local, "request", None)
	if request is not None:
		best = request.accept_languages.best_match(LANGS)
		if best:
			return best
	return "fr"


def get_context(context):
	context.no_cache = 1
	context.no_header = 1
	context.no_breadcrumbs = 1
	context.lang = page_lang()
	context.title = "Gigafibre · Contrat" if context.lang == "fr" else "Gigafibre · Contract"
	context.token = _NOT_TOKEN.sub("", str(frappe.form_dict.get("token") or ""))[:MAX_TOKEN]
	context.api = "/api/method/gigafibre_fsm.api.customers."
	context.page_api = page_api()
	return context
