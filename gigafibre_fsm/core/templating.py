"""``{{a.b.c}}`` placeholders in the config of a flow step, filled from the run context.

:func:`render` walks any JSON-like value (dicts, lists, strings) and fills the
strings; dict keys and non-string values are left alone. Nothing is ever
evaluated: a placeholder is only a path.

- A path is dot-separated names; a number picks a list element
  (``{{doc.items.0.item_code}}``). Spaces inside the braces are allowed
  (``{{ doc.name }}``). Only dicts and lists are walked, never attributes.
- A string that is exactly one placeholder (``"{{doc.grand_total}}"``) becomes
  the value itself, keeping its type (number, dict, list, ``None``).
- Placeholders inside longer text are replaced by text: ``None`` → ``""``,
  booleans → ``true``/``false``, dicts and lists → JSON, anything else ``str()``.
- A path missing from the context raises InvalidInput naming the path, unless
  ``strict=False``: then it renders as ``""``, alone or inside text, which
  suits previews of a template without a real run.
- ``\\{{`` writes a literal ``{{`` (``"\\{{not.a.path}}"`` → ``"{{not.a.path}}"``).
- Anything else inside ``{{ }}`` (``{{ a | upper }}``, ``{{}}``) is an error,
  strict or not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gigafibre_fsm.core.errors import InvalidInput

_PATH = r"[\w-]+(?:\.[\w-]+)*"
# an escaped opening (\{{) or a placeholder; group "inner" is what is between the braces
_TOKEN = re.compile(r"\\\{\{|\{\{(?P<inner>[^{}]*)\}\}")
_SINGLE = re.compile(r"\{\{\s*(?P<path>" + _PATH + r")\s*\}\}")
_VALID_PATH = re.compile(_PATH)
_MISSING = object()


def render(value: Any, context: Mapping[str, Any], *, strict: bool = True) -> Any:
	"""``value`` with every placeholder of its strings filled from ``context``."""
	if isinstance(value, str):
		return _render_string(value, context, strict)
	if isinstance(value, Mapping):
		return {key: render(item, context, strict=strict) for key, item in value.items()}
	if isinstance(value, list | tuple):
		return [render(item, context, strict=strict) for item in value]
	return value


def placeholders(value: Any) -> set[str]:
	"""Every path the placeholders of ``value`` refer to (malformed ones are left out)."""
	found: set[str] = set()
	for text in _strings(value):
		for inner in _inners(text):
			path = inner.strip()
			if _VALID_PATH.fullmatch(path):
				found.add(path)
	return found


def check_paths(value: Any, known_roots: Iterable[str]) -> list[str]:
	"""Problems of the placeholders of ``value``: malformed ones and unknown first segments.

	``known_roots`` are the names the run context will have, e.g.
	``{"doc", "customer", "steps", "run", "now"}``.
	"""
	roots = set(known_roots)
	known = ", ".join(sorted(roots)) or "none"
	problems: list[str] = []
	seen: set[str] = set()
	for text in _strings(value):
		for inner in _inners(text):
			path = inner.strip()
			if path in seen:
				continue
			seen.add(path)
			if not _VALID_PATH.fullmatch(path):
				problems.append(
					f"{{{{{inner}}}}} is not a placeholder: write a dotted path like {{{{doc.name}}}}"
				)
			elif path.split(".", 1)[0] not in roots:
				root = path.split(".", 1)[0]
				problems.append(f"{{{{{path}}}}} refers to {root!r}, which is not one of: {known}")
	return problems


def resolve(context: Any, path: str, default: Any = _MISSING) -> Any:
	"""The value at dotted ``path`` in ``context`` (dicts by key, lists by index)."""
	current = context
	for segment in path.split("."):
		if isinstance(current, Mapping) and segment in current:
			current = current[segment]
		elif isinstance(current, list | tuple) and segment.isdigit() and int(segment) < len(current):
			current = current[int(segment)]
		else:
			if default is _MISSING:
				raise InvalidInput("The template refers to {0}, which is not in the context", path)
			return default
	return current


def _render_string(text: str, context: Mapping[str, Any], strict: bool) -> Any:
	if "{{" not in text:
		return text
	single = _SINGLE.fullmatch(text)
	if single:
		return _lookup(context, single.group("path"), strict)

	def substitute(match: re.Match) -> str:
		inner = match.group("inner")
		if inner is None:
			return "{{"
		path = inner.strip()
		if not _VALID_PATH.fullmatch(path):
			raise InvalidInput("{0} is not a valid placeholder", match.group(0))
		return _as_text(_lookup(context, path, strict))

	return _TOKEN.sub(substitute, text)


def _lookup(context: Mapping[str, Any], path: str, strict: bool) -> Any:
	return resolve(context, path) if strict else resolve(context, path, "")


def _as_text(value: Any) -> str:
	if value is None:
		return ""
	if isinstance(value, bool):
		return "true" if value else "false"
	if isinstance(value, str):
		return value
	if isinstance(value, Mapping | list | tuple):
		return json.dumps(value, ensure_ascii=False, default=str)
	return str(value)


def _strings(value: Any):
	if isinstance(value, str):
		yield value
	elif isinstance(value, Mapping):
		for item in value.values():
			yield from _strings(item)
	elif isinstance(value, list | tuple):
		for item in value:
			yield from _strings(item)


def _inners(text: str):
	for match in _TOKEN.finditer(text):
		if match.group("inner") is not None:
			yield match.group("inner")
