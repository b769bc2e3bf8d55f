"""The words of the OpenAPI document, for gigafibre_fsm.openapi: docstrings as CommonMark, the
roles, the proof a guest method expects, and Frappe's ``rate_limit`` limits (its wrappers leave no
marker: they are recognised by their code object and their limits read from the closure).
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable

from frappe.rate_limiter import rate_limit

from gigafibre_fsm.permissions import SUPER_ROLES


def _probe() -> None:  # only wrapped, never called
	pass


# Every wrapper rate_limit makes shares this code object; its closure holds the limits.
_RATE_LIMIT_CODE = rate_limit()(_probe).__code__


def _markdown(text: str) -> str:
	"""Docstring reST to CommonMark: ``x`` and :func:`x` become `x`."""
	text = re.sub(r":[a-z]+:`([^`]+)`", r"`\1`", text)
	return text.replace("``", "`")


def docstring_parts(obj: object) -> tuple[str, str]:
	"""(first paragraph on one line, the rest) of an object's docstring."""
	doc = inspect.cleandoc(getattr(obj, "__doc__", None) or "")
	if not doc:
		return "", ""
	first, _sep, rest = doc.partition("\n\n")
	return _markdown(" ".join(first.split())), _markdown(rest.strip())


def roles_text(roles: tuple[str, ...] | None) -> str:
	if not roles:
		return "Roles: any logged-in user (Guest is refused)."
	supers = " and ".join(sorted(SUPER_ROLES))
	return f"Roles: {', '.join(roles)} ({supers} pass every role check)."


def _token_kind(fn: Callable, module: types.ModuleType) -> str:
	"""What a ``token`` parameter carries, as the function's then the module's docstring says."""
	fn_doc = (inspect.unwrap(fn).__doc__ or "").lower()
	if "session" in fn_doc:
		return "session token"
	if "link" in fn_doc:
		return "link token"
	module_doc = (module.__doc__ or "").lower()
	if "link token" in module_doc:
		return "link token"
	if "session token" in module_doc:
		return "session token"
	return "token"


def proofs(fn: Callable, module: types.ModuleType, parameters: list[str]) -> list[str]:
	"""What a guest method takes as proof of who calls, from its parameter names."""
	out = []
	if "token" in parameters:
		out.append(
			f"the signed {_token_kind(fn, module)} in `token` (a forged, expired or revoked token answers 403)"
		)
	if "code" in parameters:
		out.append("the SMS one-time code in `code`")
	if "phone" in parameters:
		out.append("the cell phone number on file in `phone` (a code is texted to that number only)")
	return out


def rate_limits(fn: Callable) -> list[dict]:
	"""The limits of Frappe's ``rate_limit`` wrappers around ``fn``, outermost first."""
	out = []
	layer = fn
	while layer is not None:
		if getattr(layer, "__code__", None) is _RATE_LIMIT_CODE and layer.__closure__:
			cells = dict(zip(layer.__code__.co_freevars, layer.__closure__, strict=True))
			value = {k: cell.cell_contents for k, cell in cells.items() if k != "fn"}
			limit = value.get("limit")
			methods = value.get("methods", "ALL")
			if isinstance(methods, str) and methods != "ALL":
				methods = [methods]
			out.append(
				{
					"limit": limit if isinstance(limit, int) else None,
					"seconds": value.get("seconds"),
					"key": value.get("key"),
					"ip_based": bool(value.get("ip_based", True)),
					"methods": methods if isinstance(methods, str) else sorted(methods),
				}
			)
		layer = getattr(layer, "__wrapped__", None)
	return out


def rate_limit_text(limits: list[dict]) -> str:
	parts = []
	for rl in limits:
		per = []
		if rl["ip_based"]:
			per.append("IP address")
		if rl["key"]:
			per.append(f"`{rl['key']}`")
		count = "a configured number of" if rl["limit"] is None else str(rl["limit"])
		text = f"{count} requests per {rl['seconds']} s per {' and '.join(per) or 'caller'}"
		if rl["methods"] != "ALL":
			text += f" ({', '.join(rl['methods'])} only)"
		parts.append(text)
	return (
		"Rate limits (Frappe's `rate_limit`; over a limit the method answers 429): " + "; ".join(parts) + "."
	)
