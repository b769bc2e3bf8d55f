"""The app's API as a published contract: an OpenAPI 3.1 document derived from the code.

``build()`` walks every module of ``gigafibre_fsm.api`` and describes each function that
is whitelisted (``frappe.whitelisted``) and defined there, as
``/api/method/gigafibre_fsm.api.<module>.<name>``:

- operations: ``get`` and/or ``post`` from ``frappe.allowed_http_methods_for_whitelisted_func``
  (a list on v15, a tuple on v16; other HTTP methods are not described);
- parameters: from the innermost function's signature (the ``fsm_api``, ``rate_limit`` and
  Frappe wrappers use ``functools.wraps``, so ``__wrapped__`` leads to it). The ``api``
  modules use ``from __future__ import annotations``: annotations are strings, resolved with
  ``typing.get_type_hints`` in the function's module, or, if that fails, through a small
  mapping of the annotation text (``str``, ``int``, ``dict | None``...). GET takes them in the
  query, POST as a JSON object body (Frappe also accepts form-encoded arguments);
- responses: 200 ``{"message": <the return annotation>}`` and Frappe's JSON error answers
  (403, 404, 409, 417, and 429 for guest and rate-limited methods);
- roles (``fn.fsm_roles``) as ``x-roles``; guest methods (``frappe.guest_methods``) as
  ``security: []`` with ``x-guest`` and the proof they expect, from the parameter names and
  the docstrings; Frappe's ``rate_limit`` leaves no marker, so its wrappers are recognised by
  their code object and their limits read from the closure (``x-rate-limits``).

The document is deterministic: ``write()`` sorts the keys, so the checked-in
``docs/openapi.json`` diffs cleanly. ``bench --site <site> gigafibre-export-openapi``
writes it (``export_openapi``), ``differences()`` names the methods that changed, and
``gigafibre_fsm.api.openapi.openapi`` serves it to logged-in users.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import json
import os
import pkgutil
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator

import click
import frappe
from frappe.commands import get_site, pass_context
from frappe.rate_limiter import rate_limit

import gigafibre_fsm
import gigafibre_fsm.api
import gigafibre_fsm.exceptions
from gigafibre_fsm.permissions import SUPER_ROLES

API_PACKAGE = "gigafibre_fsm.api"
PATH_PREFIX = "/api/method/"
DEFAULT_OUTPUT = os.path.join("docs", "openapi.json")
OPENAPI_VERSION = "3.1.0"
TITLE = "Gigafibre FSM API"
VERBS = ("GET", "POST")  # what the document describes (Frappe also lets PUT, DELETE... through)
ERROR_STATUSES = (403, 404, 409, 417)  # every method may answer these
RATE_LIMITED = 429  # guest methods and methods with a rate_limit

_NONE = type(None)
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
	"None": _NONE,
	"Any": typing.Any,
	"typing.Any": typing.Any,
}

_ERRORS: dict[int, tuple[str, str, tuple[type, ...]]] = {
	403: (
		"Forbidden",
		"Refused: the role check (ForbiddenError), a document permission, a refused token or "
		"session (guest methods), a guest calling a method that needs a login, or an HTTP method "
		"the method does not allow (PermissionError).",
		(frappe.PermissionError,),
	),
	404: (
		"NotFound",
		"A record the request names does not exist (DoesNotExistError).",
		(frappe.DoesNotExistError,),
	),
	409: (
		"Conflict",
		"The change clashes with the current state: already claimed, overlapping, being applied "
		"by another request (ConflictError).",
		(),
	),
	417: (
		"ValidationFailed",
		"Bad input or a rule of the app refused it (ValidationError, GigafibreValidationError).",
		(frappe.ValidationError,),
	),
	429: (
		"RateLimited",
		"Too many requests: Frappe's rate_limit (RateLimitExceededError) or a per-identifier "
		"limit of the method (TooManyRequestsError).",
		(frappe.RateLimitExceededError, frappe.TooManyRequestsError),
	),
}


def _probe() -> None:  # only wrapped, never called
	pass


# Every wrapper rate_limit makes shares this code object; its closure holds the limits.
_RATE_LIMIT_CODE = rate_limit()(_probe).__code__


# -- what is published ------------------------------------------------------------------


def endpoints() -> Iterator[tuple[str, str, Callable]]:
	"""(module, name, whitelisted function) for every method of ``gigafibre_fsm.api``."""
	for short, module in _modules():
		for name, fn in sorted(vars(module).items()):
			if callable(fn) and fn in frappe.whitelisted and fn.__module__ == module.__name__:
				yield short, name, fn


def _modules() -> list[tuple[str, types.ModuleType]]:
	"""(name, module) of every module of ``gigafibre_fsm.api``, imported, by name."""
	infos = sorted(pkgutil.iter_modules(gigafibre_fsm.api.__path__), key=lambda i: i.name)
	return [(info.name, importlib.import_module(f"{API_PACKAGE}.{info.name}")) for info in infos]


def method_path(module: str, name: str) -> str:
	return f"{PATH_PREFIX}{API_PACKAGE}.{module}.{name}"


# -- types --------------------------------------------------------------------------------


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
			members += [_from_text(part.split("[", 1)[1].rsplit("]", 1)[0]), _NONE]
			continue
		tp = _ANNOTATION_NAMES.get(base)
		if tp is None or tp is typing.Any:
			return typing.Any
		members.append(tp)
	return members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007


def schema_for(tp: object) -> dict:
	"""The JSON Schema (OpenAPI 3.1) of a resolved annotation."""
	if tp is None or tp is _NONE:
		return {"type": "null"}
	if tp is typing.Any or tp is inspect.Parameter.empty:
		return {}
	origin = typing.get_origin(tp)
	args = typing.get_args(tp)
	if origin is typing.Union or (origin is not None and origin is getattr(types, "UnionType", None)):
		nullable = _NONE in args
		members = [schema_for(a) for a in args if a is not _NONE]
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


def _json_default(value: object) -> tuple[bool, object]:
	"""(True, value) when a parameter default can be written as JSON."""
	if value is None or isinstance(value, bool | int | float | str):
		return True, value
	return False, None


# -- texts --------------------------------------------------------------------------------


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


def _roles_text(roles: tuple[str, ...] | None) -> str:
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


def _rate_limit_text(limits: list[dict]) -> str:
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


# -- the document -------------------------------------------------------------------------


def _error_classes(api_modules: list[types.ModuleType]) -> dict[int, list[str]]:
	"""The exception class names that answer each error status: Frappe's, and those of
	``gigafibre_fsm.exceptions`` and the api modules."""
	modules = [gigafibre_fsm.exceptions, *api_modules]
	names: dict[int, set[str]] = {status: {c.__name__ for c in _ERRORS[status][2]} for status in _ERRORS}
	for module in modules:
		for obj in vars(module).values():
			if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == module.__name__:
				status = getattr(obj, "http_status_code", None)
				if status in names:
					names[status].add(obj.__name__)
	return {status: sorted(found) for status, found in names.items()}


def _components(api_modules: list[types.ModuleType]) -> dict:
	error = {
		"type": "object",
		"description": "Frappe's JSON answer to an exception (API v1).",
		"properties": {
			"exc_type": {"type": "string", "description": "The exception's class name."},
			"exception": {
				"type": "string",
				"description": "The traceback's last line, only when the site allows tracebacks "
				"(System Settings: Allow Error Traceback).",
			},
			"_server_messages": {
				"type": "string",
				"description": "A JSON list of JSON-encoded messages (`message`, `title`, "
				"`indicator`...), translated to the caller's language.",
			},
		},
		"required": ["exc_type"],
	}
	responses = {}
	for status, classes in _error_classes(api_modules).items():
		name, text, _bases = _ERRORS[status]
		responses[name] = {
			"description": f"{text} `exc_type`: {', '.join(classes)}.",
			"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
		}
	return {
		"schemas": {"Error": error},
		"responses": responses,
		"securitySchemes": {
			"token": {
				"type": "apiKey",
				"in": "header",
				"name": "Authorization",
				"description": "`Authorization: token <api_key>:<api_secret>`: a user's API key and "
				"secret (desk: User > Settings > API Access).",
			},
			"session": {
				"type": "apiKey",
				"in": "cookie",
				"name": "sid",
				"description": "The session cookie `sid` from `/api/method/login`. A desk session's "
				"POST requests also send its CSRF token in `X-Frappe-CSRF-Token`.",
			},
		},
	}


def _operation(module: str, name: str, fn: Callable, verb: str, mod: types.ModuleType) -> dict:
	inner = inspect.unwrap(fn)
	hints = type_hints(fn)
	params = [
		p
		for p in inspect.signature(inner).parameters.values()
		if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
	]
	guest = fn in frappe.guest_methods
	roles = getattr(fn, "fsm_roles", None)
	limits = rate_limits(fn)
	summary, rest = docstring_parts(inner)

	properties, required = {}, []
	for p in params:
		schema = schema_for(hints.get(p.name, inspect.Parameter.empty))
		if p.default is inspect.Parameter.empty:
			required.append(p.name)
		else:
			ok, value = _json_default(p.default)
			if ok:
				schema = {**schema, "default": value}
		properties[p.name] = schema

	lines = [rest] if rest else []
	if guest:
		proof = proofs(fn, mod, [p.name for p in params])
		lines.append(
			"Guest method: no login. Proof of who calls: "
			+ ("; ".join(proof) if proof else "none (see above for what the answer reveals)")
			+ "."
		)
	else:
		lines.append(_roles_text(roles))
	if limits:
		lines.append(_rate_limit_text(limits))
	elif guest:
		lines.append("Rate limit: none declared on the method (a site-wide limit may answer 429).")
	if params and verb == "GET":
		lines.append("Arguments in the query string (values arrive as text).")
	elif params:
		lines.append(
			"Arguments as a JSON object (`Content-Type: application/json`); Frappe also accepts "
			"them form-encoded (`application/x-www-form-urlencoded`, `multipart/form-data`), "
			"where every value is text."
		)

	op: dict = {
		"operationId": f"{module}_{name}_{verb.lower()}",
		"summary": summary or name.replace("_", " ").capitalize(),
		"description": "\n\n".join(lines),
		"tags": [module],
	}
	if verb == "GET" and params:
		op["parameters"] = [
			{"name": p.name, "in": "query", "required": p.name in required, "schema": properties[p.name]}
			| (
				{"description": "An object or a list: send it as JSON text, or call with POST."}
				if _structured(properties[p.name])
				else {}
			)
			for p in params
		]
	elif params:
		body: dict = {"type": "object", "properties": properties}
		if required:
			body["required"] = required
		op["requestBody"] = {
			"required": bool(required),
			"content": {"application/json": {"schema": body}},
		}

	result = hints.get("return", inspect.Parameter.empty)
	message = schema_for(result)
	nullable = _can_be_none(result)
	envelope: dict = {"type": "object"}
	if result is not None and result is not _NONE:  # a method annotated -> None has no message
		envelope["properties"] = {"message": _not_null(message)}
	if not nullable:
		envelope["required"] = ["message"]
	op["responses"] = {
		"200": {
			"description": "The method's answer in `message`"
			+ (" (absent when it answers nothing)." if nullable else "."),
			"content": {"application/json": {"schema": envelope}},
		}
	}
	for status in (*ERROR_STATUSES, *((RATE_LIMITED,) if guest or limits else ())):
		op["responses"][str(status)] = {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}

	if guest:
		op["security"] = []
		op["x-guest"] = True
	else:
		op["security"] = [{"token": []}, {"session": []}]
	if roles is not None:
		op["x-roles"] = list(roles)
	if limits:
		op["x-rate-limits"] = limits
	return op


def _structured(schema: dict) -> bool:
	kinds = schema.get("type")
	kinds = [kinds] if isinstance(kinds, str) else kinds or []
	members = schema.get("oneOf") or schema.get("anyOf") or []
	return bool({"object", "array"} & set(kinds)) or any(_structured(m) for m in members)


def _can_be_none(tp: object) -> bool:
	if tp is None or tp is _NONE:
		return True
	return _NONE in typing.get_args(tp) and typing.get_origin(tp) is not typing.Literal


def _not_null(schema: dict) -> dict:
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


def build() -> dict:
	"""The OpenAPI 3.1 document of every whitelisted method of ``gigafibre_fsm.api``."""
	modules = dict(_modules())
	paths: dict[str, dict] = {}
	for module, name, fn in sorted(endpoints(), key=lambda e: (e[0], e[1])):
		allowed = set(frappe.allowed_http_methods_for_whitelisted_func.get(fn) or ())
		item = {
			verb.lower(): _operation(module, name, fn, verb, modules[module])
			for verb in VERBS
			if verb in allowed
		}
		if item:
			paths[method_path(module, name)] = item
	tags = []
	for module, mod in modules.items():
		summary, _rest = docstring_parts(mod)
		tags.append({"name": module, "description": summary or module})
	return {
		"openapi": OPENAPI_VERSION,
		"info": {
			"title": TITLE,
			"version": gigafibre_fsm.__version__,
			"description": (
				"The whitelisted methods of the gigafibre_fsm Frappe app, derived from the code "
				"(`gigafibre_fsm/openapi.py`). Each is `/api/method/<dotted path>`; the answer is "
				'`{"message": ...}`, an error answers Frappe\'s JSON with `exc_type` and '
				"`_server_messages`. FSM Manager and System Manager pass every role check. "
				"Regenerate with `bench --site <site> gigafibre-export-openapi`."
			),
		},
		"tags": tags,
		"paths": paths,
		"components": _components(list(modules.values())),
	}


# -- the checked-in file ------------------------------------------------------------------


def dumps(document: dict) -> str:
	return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def repo_root() -> str:
	return os.path.normpath(frappe.get_app_path("gigafibre_fsm", ".."))


def default_path() -> str:
	"""``docs/openapi.json`` in the app's repository."""
	return os.path.join(repo_root(), DEFAULT_OUTPUT)


def write(path: str) -> None:
	"""Write ``build()`` to ``path`` (sorted keys, one-space indent, a final newline)."""
	text = dumps(build())
	os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
	with open(path, "w", encoding="utf-8", newline="\n") as fh:
		fh.write(text)


def _method_of(path: str) -> str:
	return path.removeprefix(PATH_PREFIX)


def _differing_keys(a: object, b: object, prefix: str = "") -> list[str]:
	if isinstance(a, dict) and isinstance(b, dict):
		out = []
		for key in sorted(set(a) | set(b), key=str):
			if a.get(key) != b.get(key):
				inner = _differing_keys(a.get(key), b.get(key), f"{prefix}{key}.")
				out += inner or [f"{prefix}{key}"]
		return out
	return [] if a == b else [prefix.rstrip(".")] if prefix else []


def differences(on_disk: dict, built: dict) -> list[str]:
	"""What differs between a document on disk and ``build()``: one line per method missing
	from either or described differently, then the other top-level parts that differ."""
	on_disk = json.loads(json.dumps(on_disk or {}))
	built = json.loads(json.dumps(built or {}))
	out = []
	disk_paths, built_paths = on_disk.get("paths") or {}, built.get("paths") or {}
	for path in sorted(set(disk_paths) | set(built_paths)):
		method = _method_of(path)
		if path not in disk_paths:
			out.append(f"{method}: missing from the file")
		elif path not in built_paths:
			out.append(f"{method}: in the file but not in the code")
		elif disk_paths[path] != built_paths[path]:
			where = _differing_keys(disk_paths[path], built_paths[path])
			out.append(f"{method}: differs ({', '.join(where[:5])}{', ...' if len(where) > 5 else ''})")
	for key in sorted(set(on_disk) | set(built)):
		if key != "paths" and on_disk.get(key) != built.get(key):
			where = _differing_keys(on_disk.get(key), built.get(key), f"{key}.") or [key]
			out.append(f"{', '.join(where[:5])}: differs")
	return out


# -- bench command (listed in gigafibre_fsm/commands.py) ----------------------------------


def resolve_output(output: str | None) -> str:
	"""An absolute path as given; a relative one from the app's repository root."""
	output = output or DEFAULT_OUTPUT
	return output if os.path.isabs(output) else os.path.join(repo_root(), output)


@click.command("gigafibre-export-openapi")
@click.option(
	"--output",
	default=DEFAULT_OUTPUT,
	show_default=True,
	help="Where to write the document; a relative path is taken from the app's repository root",
)
@click.option(
	"--check",
	is_flag=True,
	default=False,
	help="Write nothing: list what differs from the file and exit 1 if anything does",
)
@pass_context
def export_openapi(context, output=DEFAULT_OUTPUT, check=False):
	"""Write the OpenAPI 3.1 description of the app's whitelisted methods (docs/openapi.json)."""
	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		path = resolve_output(output)
		if check:
			try:
				with open(path, encoding="utf-8") as fh:
					on_disk = json.load(fh)
			except (OSError, ValueError) as e:
				click.secho(f"Cannot read {path}: {e}", fg="red", err=True)
				sys.exit(1)
			found = differences(on_disk, build())
			for line in found:
				click.echo(line)
			if found:
				click.secho(
					f"{path} is out of date: run bench --site {site} gigafibre-export-openapi", fg="red"
				)
				sys.exit(1)
			click.echo(f"{path} is up to date")
			return
		write(path)
		with open(path, encoding="utf-8") as fh:
			count = len(json.load(fh)["paths"])
		click.echo(f"Wrote {count} methods to {path}")
	finally:
		frappe.destroy()
