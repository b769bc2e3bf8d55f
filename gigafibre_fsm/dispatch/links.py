"""Technician links `/t/<token>`: signed, scoped to one technician, expiring and revocable.

The token carries the technician's ``token_version``; bumping it (revoke, or a
refresh when their jobs change) makes every earlier link invalid.
"""

from __future__ import annotations

import time
from datetime import timedelta

import frappe
from frappe.utils import get_url

from gigafibre_fsm.core import tokens
from gigafibre_fsm.settings import get_settings

SCOPE = "technician"
TTL = timedelta(days=7)


def issue(technician: str) -> str:
	version = frappe.db.get_value("Technician", technician, "token_version") or 0
	return tokens.issue(
		get_settings().token_secret,
		subject=technician,
		scope=SCOPE,
		now=time.time(),
		ttl=TTL,
		version=version,
	)


def link_for(technician: str) -> str:
	return get_url(f"/t/{issue(technician)}")


def verify(token: str) -> str:
	"""The technician a token belongs to; raises a core TokenRejected when expired, revoked or forged."""
	secret = get_settings().token_secret
	claims = tokens.verify(secret, token, scope=SCOPE, now=time.time())
	current = frappe.db.get_value("Technician", claims.subject, ["token_version", "active"], as_dict=True)
	if not current or not current.active:
		raise tokens.TokenRevoked("This link has been replaced or revoked")
	tokens.verify(secret, token, scope=SCOPE, now=time.time(), current_version=current.token_version or 0)
	return claims.subject


def revoke(technician: str) -> int:
	"""Invalidate every link of the technician; returns the new version."""
	version = (frappe.db.get_value("Technician", technician, "token_version") or 0) + 1
	frappe.db.set_value("Technician", technician, "token_version", version, update_modified=False)
	return version


def refresh(technician: str) -> str:
	"""Revoke the old links and return a new one (sent when their jobs change)."""
	revoke(technician)
	return link_for(technician)
