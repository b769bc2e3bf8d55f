"""A Flow Template's steps as plain dicts: what the runtime freezes and the editor checks."""

from __future__ import annotations

import json


def json_value(value, default):
	"""A JSON field's value: parsed text, the value itself when already parsed, ``default`` when empty."""
	if value in (None, ""):
		return default
	if isinstance(value, dict | list):
		return value
	try:
		return json.loads(value)
	except ValueError:
		return value  # reported by validation


def steps_of(data) -> list[dict]:
	"""Steps as plain dicts from a Flow Template document or a dict (editor draft)."""
	rows = data.get("steps") or []
	out = []
	for row in rows:
		row = row if isinstance(row, dict) else row.as_dict()
		out.append(
			{
				"step_id": (row.get("step_id") or "").strip(),
				"label": (row.get("label") or "").strip(),
				"kind": (row.get("kind") or "").strip(),
				"parent_step": (row.get("parent_step") or "").strip() or None,
				"config": json_value(row.get("config"), {}),
				"condition": json_value(row.get("condition"), None),
				"depends_on": json_value(row.get("depends_on"), []),
			}
		)
	return out
