"""Factories for the Frappe integration tests (plain functions, unique names)."""

from __future__ import annotations

import json

import frappe

# Not a test module: Frappe's runner only imports files named test_*.py that hold
# tests; this one holds none (the name follows frappe/helpdesk's test_utils.py).


def unique(prefix: str) -> str:
	return f"{prefix}-{frappe.generate_hash(length=8)}"


def make_customer(**kw):
	doc = frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": kw.pop("customer_name", unique("Client")),
			"customer_type": "Individual",
			"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}, "name"),
			"territory": frappe.db.get_value("Territory", {"is_group": 0}, "name"),
			**kw,
		}
	)
	return doc.insert(ignore_permissions=True)


def make_contract(customer=None, **kw):
	return frappe.get_doc(
		{
			"doctype": "Service Contract",
			"customer": customer or make_customer().name,
			"contract_type": kw.pop("contract_type", "Residential"),
			**kw,
		}
	).insert(ignore_permissions=True)


def make_user(roles: list[str], email: str | None = None):
	email = email or f"{unique('user').lower()}@example.com"
	user = frappe.get_doc(
		{"doctype": "User", "email": email, "first_name": "Test", "send_welcome_email": 0, "enabled": 1}
	).insert(ignore_permissions=True)
	user.add_roles(*roles)
	return user


def step(sid, kind, config=None, deps=(), label=None, parent=None, condition=None) -> dict:
	return {
		"step_id": sid,
		"label": label or f"Step {sid}",
		"kind": kind,
		"config": json.dumps(config or {}),
		"depends_on": json.dumps(list(deps)),
		"parent_step": parent,
		"condition": json.dumps(condition) if condition else None,
	}


def make_template(steps: list[dict], **kw):
	return frappe.get_doc(
		{
			"doctype": "Flow Template",
			"title": kw.pop("title", unique("Flow")),
			"category": kw.pop("category", "Project"),
			"kind": kw.pop("kind", "other_project"),
			"applies_to": kw.pop("applies_to", "Service Contract"),
			"trigger_event": kw.pop("trigger_event", "manual"),
			"enabled": kw.pop("enabled", 1),
			"steps": steps,
			**kw,
		}
	).insert(ignore_permissions=True)
