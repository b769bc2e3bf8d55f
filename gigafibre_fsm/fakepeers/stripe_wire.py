"""Stripe's wire format for the fake Stripe peers (stripe.py and its mixins): form bodies in
Stripe's bracket notation and error objects (https://docs.stripe.com/api/errors)."""

from __future__ import annotations

import re
import secrets

from gigafibre_fsm.fakepeers.http import Response


def decode_form(pairs: list[tuple[str, str]]) -> dict:
	"""Stripe's bracket notation (``a[b][0][c]=v``) back into nested dicts and lists."""
	root: dict = {}
	for key, value in pairs:
		head, *rest = re.findall(r"[^\[\]]+", key) or [key]
		node, name = root, head
		for part in rest:
			node = node.setdefault(name, {})
			name = part
		node[name] = value
	return _lists(root)


def _lists(value):
	if isinstance(value, dict):
		items = {k: _lists(v) for k, v in value.items()}
		if items and all(k.isdigit() for k in items):
			return [items[k] for k in sorted(items, key=int)]
		return items
	return value


def error(status: int, type_: str, message: str, **extra) -> Response:
	"""Stripe's error object: ``{"error": {"type", "message", "code", ...}}`` with a Request-Id."""
	body = {"type": type_, "message": message, **{k: v for k, v in extra.items() if v is not None}}
	if "code" in body:
		body.setdefault("doc_url", f"https://stripe.com/docs/error-codes/{body['code'].replace('_', '-')}")
	return Response.json(
		{"error": body}, status=status, headers={"Request-Id": "req_" + secrets.token_hex(7)}
	)


def missing(param: str) -> Response:
	return error(
		400,
		"invalid_request_error",
		f"Missing required param: {param}.",
		code="parameter_missing",
		param=param,
	)


def no_such_customer(customer: str) -> Response:
	"""Stripe's answer to a ``customer`` parameter naming no customer."""
	return error(
		400,
		"invalid_request_error",
		f"No such customer: '{customer}'",
		code="resource_missing",
		param="customer",
	)


def as_bool(value) -> bool:
	return str(value).lower() == "true"
