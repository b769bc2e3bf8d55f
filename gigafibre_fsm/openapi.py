"""The app's API as a published contract: an OpenAPI 3.1 document derived from the code.

``build()`` walks every module of ``gigafibre_fsm.api`` and describes each function that
is whitelisted (``frappe.whitelisted``) and defined there, as
``/api/method/gigafibre_fsm.api.<module>.<name>``:

- operations: ``get`` and/or ``post`` from ``frappe.allowed_http_methods_for_whitelisted_func``
  (a list on v15, a tuple on v16; other HTTP methods are not described);
- parameters: from the innermost function's signature (the ``fsm_api``, ``rate_limit`` and
  Frappe wrappers use ``functools.wraps``, so ``__wrapped__`` leads to it), their schemas from
  the annotations (openapi_schema.py). GET takes them in the query, POST as a JSON object body
  (Frappe also accepts form-encoded arguments);
- responses: 200 ``{"message": <the return annotation>}`` and Frappe's JSON error answers
  (403, 404, 409, 417, and 429 for guest and rate-limited methods);
- roles (``fn.fsm_roles``) as ``x-roles``; guest methods (``frappe.guest_methods``) as
  ``security: []`` with ``x-guest`` and the proof they expect, from the parameter names and
  the docstrings; Frappe's ``rate_limit`` limits as ``x-rate-limits`` (openapi_texts.py).

The document is deterministic: ``write()`` sorts the keys, so the checked-in
``docs/openapi.json`` diffs cleanly. ``bench --site <site> gigafibre-export-openapi``
writes it (``export_openapi``), ``differences()`` names the methods that changed, and
``gigafibre_fsm.api.openapi.openapi`` serves it to logged-in users.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import sys
import types
from collections.abc import Callable, Iterator

import click
import frappe
from frappe.commands import get_site, pass_context

import gigafibre_fsm
import gigafibre_fsm.api
import gigafibre_fsm.exceptions
from gigafibre_fsm.openapi_schema import (
	NONE,
	can_be_none,
	json_default,
	not_null,
	schema_for,
	structured,
	type_hints,
)
from gigafibre_fsm.openapi_texts import docstring_parts, proofs, rate_limit_text, rate_limits, roles_text

API_PACKAGE = "gigafibre_fsm.api"
PATH_PREFIX = "/api/method/"
DEFAULT_OUTPUT = os.path.join("docs", "openapi.json")
OPENAPI_VERSION = "3.1.0"
TITLE = "Gigafibre FSM API"
VERBS = ("GET", "POST")  # what the document describes (Frappe also lets PUT, DELETE... through)
ERROR_STATUSES = (403, 404, 409, 417)  # every method may answer these
RATE_LIMITED = 429  # guest methods and methods with a rate_limit

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
			ok, value = json_default(p.default)
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
		lines.append(roles_text(roles))
	if limits:
		lines.append(rate_limit_text(limits))
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
				if structured(properties[p.name])
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
	nullable = can_be_none(result)
	envelope: dict = {"type": "object"}
	if result is not None and result is not NONE:  # a method annotated -> None has no message
		envelope["properties"] = {"message": not_null(message)}
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
