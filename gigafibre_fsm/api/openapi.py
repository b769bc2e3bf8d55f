"""The API's description (/api/method/gigafibre_fsm.api.openapi.openapi).

The OpenAPI 3.1 document of every whitelisted method of the app, built from the code
by ``gigafibre_fsm.openapi.build`` (the same document as the checked-in
``docs/openapi.json``), for logged-in users.
"""

from __future__ import annotations

import copy

import frappe
from frappe import _

import gigafibre_fsm
from gigafibre_fsm.exceptions import ForbiddenError
from gigafibre_fsm.openapi import build

# Built once per process, again when the app's version changes.
_cache: dict = {}


@frappe.whitelist(methods=["GET"])
def openapi() -> dict:
	"""The OpenAPI 3.1 description of the app's whitelisted methods.

	The same document as `docs/openapi.json` in the app's repository."""
	# Frappe already refuses guests over HTTP (a method whitelisted without allow_guest);
	# this also covers in-process calls.
	if frappe.session.user == "Guest":
		frappe.throw(_("Log in to read the API description"), ForbiddenError, title=_("Not Permitted"))
	version = gigafibre_fsm.__version__
	if _cache.get("version") != version:
		_cache.clear()
		_cache.update(version=version, document=build())
	return copy.deepcopy(_cache["document"])
