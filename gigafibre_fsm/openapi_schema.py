"""JSON Schema (OpenAPI 3.1) of a whitelisted method's annotations, for gigafibre_fsm.openapi.

The ``api`` modules use ``from __future__ import annotations``: annotations are strings, resolved
with ``typing.get_type_hints`` in the function's module, or, if that fails, through a small
mapping of the annotation text (``str``, ``int``, ``dict | None``...).
"""

from __future__ import annotations

import datetime
import inspect
import types
import typing
from collections.abc import Callable

NONE = type(None)
_SIMPLE: dict[type, str] = {
	str: "string",
	int: "integer",
	float: "number",
	bool: "boolean",
	dict: "object",
	list: "array",
	tuple: "array",
	set: "array",
	frozenset: "array",
}
# The fallback when get_type_hints cannot resolve a function's annotations.
_ANNOTATION_NAMES: dict[str, object] = {
	"str": str,
	"int": int,
	"float": float,
	"bool": bool,
	"dict": dict,
	"list": list,
	"tuple": tuple,
	"set": set,
	"None": NONE,
	"Any": typing.Any,
	"typing.Any": typing.Any,
}


def type_hints(fn: Callable) -> dict[str, object]:
	"""The resolved annotations of the innermost function, parameters and ``return``."""
	inner = inspect.unwrap(fn)
	try:
		return typing.get_type_hints(inner)
	except Exception:  # a name the module does not define at run time (TYPE_CHECKING...)
		return {k: _from_text(v) for k, v in getattr(inner, "__annotations__", {}).items()}


def _split_top(text: str, sep: str) -> list[str]:
	"""``text`` split on ``sep`` outside brackets."""
	parts, depth, current = [], 0, ""
	for ch in text:
		depth += ch == "["
		depth -= ch == "]"
		if ch == sep and depth == 0:
			parts.append(current)
			current = ""
		else:
			current += ch
	return [*parts, current]


def _from_text(annotation: object) -> object:
	"""An annotation string mapped through ``_ANNOTATION_NAMES`` (generic arguments are
	dropped; an unknown name gives ``Any``)."""
	if not isinstance(annotation, str):
		return annotation
	members = []
	for part in _split_top(annotation, "|"):
		base = part.split("[", 1)[0].strip()
		if base.startswith("Optional") and "[" in part:
			members += [_from_text(part.split("[", 1)[1].rsplit("]", 1)[0]), NONE]
			continue
		tp = _ANNOTATION_NAMES.get(base)
		if tp is None or tp is typing.Any:
			return typing.Any
		members.append(tp)
	return members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007


def schema_for(tp: object) -> dict:
	"""The JSON Schema (OpenAPI 3.1) of a resolved annotation."""
	if tp is None or tp is NONE:
		return {"type": "null"}
	if tp is typing.Any or tp is inspect.Parameter.empty:
		return {}
	origin = typing.get_origin(tp)
	args = typing.get_args(tp)
	if origin is typing.Union or (origin is not None and origin is getattr(types, "UnionType", None)):
		nullable = NONE in args
		members = [schema_for(a) for a in args if a is not NONE]
		if any(m == {} for m in members):
			return {}
		if len(members) == 1:
			return _nullable(members[0]) if nullable else members[0]
		if nullable:
			members.append({"type": "null"})
		kinds = set()
		for m in members:
			kind = m.get("type")
			kinds.update(kind if isinstance(kind, list) else [kind])
		# an integer is also a number: oneOf would refuse it
		return {"anyOf" if {"integer", "number"} <= kinds else "oneOf": members}
	if origin is typing.Literal:
		return {"enum": list(args)}
	if origin is not None and isinstance(origin, type) and issubclass(origin, list | tuple | set | frozenset):
		out = {"type": "array"}
		if args and args[-1] is not Ellipsis and (items := schema_for(args[0])):
			out["items"] = items
		return out
	if origin is dict:
		out = {"type": "object"}
		if len(args) == 2 and (values := schema_for(args[1])):
			out["additionalProperties"] = values
		return out
	if isinstance(tp, type):
		for base, name in _SIMPLE.items():
			if tp is base:
				return {"type": name}
		if issubclass(tp, datetime.datetime):
			return {"type": "string", "format": "date-time"}
		if issubclass(tp, datetime.date):
			return {"type": "string", "format": "date"}
		for base, name in _SIMPLE.items():
			if issubclass(tp, base):
				return {"type": name}
	return {}


def _nullable(schema: dict) -> dict:
	kind = schema.get("type")
	if isinstance(kind, str):
		return {**schema, "type": [kind, "null"]}
	if isinstance(kind, list):
		return {**schema, "type": [*kind, "null"] if "null" not in kind else kind}
	if "oneOf" in schema or "anyOf" in schema:
		key = "oneOf" if "oneOf" in schema else "anyOf"
		return {**schema, key: [*schema[key], {"type": "null"}]}
	return schema


def json_default(value: object) -> tuple[bool, object]:
	"""(True, value) when a parameter default can be written as JSON."""
	if value is None or isinstance(value, bool | int | float | str):
		return True, value
	return False, None


def structured(schema: dict) -> bool:
	kinds = schema.get("type")
	kinds = [kinds] if isinstance(kinds, str) else kinds or []
	members = schema.get("oneOf") or schema.get("anyOf") or []
	return bool({"object", "array"} & set(kinds)) or any(structured(m) for m in members)


def can_be_none(tp: object) -> bool:
	if tp is None or tp is NONE:
		return True
	return NONE in typing.get_args(tp) and typing.get_origin(tp) is not typing.Literal


def not_null(schema: dict) -> dict:
	"""A response's ``message`` schema: Frappe leaves ``message`` out rather than sending null."""
	kind = schema.get("type")
	if isinstance(kind, list) and "null" in kind:
		rest = [k for k in kind if k != "null"]
		return {**schema, "type": rest[0] if len(rest) == 1 else rest}
	for key in ("oneOf", "anyOf"):
		if key in schema:
			members = [m for m in schema[key] if m != {"type": "null"}]
			return members[0] if len(members) == 1 else {**schema, key: members}
	return schema
