"""The app has the layout `bench new-app` produces and Frappe expects."""

from __future__ import annotations

import ast
import csv
import json
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "gigafibre_fsm"

# Doctypes Frappe or ERPNext already define that this app must never redefine.
RESERVED = {
	"Tag",
	"Subscription",
	"Contract",
	"Issue",
	"Serial No",
	"Customer",
	"Address",
	"Item",
	"Skill",
	"Location",
}


def scrub(name: str) -> str:
	return name.lower().replace(" ", "_").replace("-", "_")


def doctype_jsons():
	for path in APP.glob("*/doctype/*/*.json"):
		if path.stem == path.parent.name:
			yield path, json.loads(path.read_text())


def test_pyproject_is_a_bench_app():
	project = tomllib.loads((REPO / "pyproject.toml").read_text())
	assert project["build-system"]["build-backend"] == "flit_core.buildapi"
	assert project["tool"]["bench"]["frappe-dependencies"]["frappe"] == ">=15.0.0,<17.0.0"
	deps = project["project"]["dependencies"]
	assert any(d.startswith("json-logic-qubit==") for d in deps), "json-logic-qubit must be pinned exactly"
	names = {re.split(r"[<>=!~ ]", d)[0].lower() for d in deps}
	# Frappe pins these; the app relies on Frappe's ranges and never installs the placeholder.
	assert names.isdisjoint(
		{"frappe", "erpnext", "redis", "pyjwt", "requests", "python-dateutil", "phonenumbers", "pydantic"}
	)
	assert not (REPO / "setup.py").exists() and not (REPO / "requirements.txt").exists()


def test_modules_have_packages():
	modules = (APP / "modules.txt").read_text().splitlines()
	assert modules == ["Flows", "Dispatch", "Network", "Customers", "Gigafibre Integrations", "Legacy"]
	for module in modules:
		assert (APP / scrub(module) / "__init__.py").exists(), module


def test_patches_txt_has_both_sections():
	text = (APP / "patches.txt").read_text()
	assert "[pre_model_sync]" in text and "[post_model_sync]" in text
	assert text.index("[pre_model_sync]") < text.index("[post_model_sync]")


def test_doctypes_sit_in_their_module_and_do_not_clash():
	modules = set((APP / "modules.txt").read_text().splitlines())
	seen = set()
	for path, meta in doctype_jsons():
		name = meta["name"]
		assert meta["module"] in modules, name
		assert path.parents[2].name == scrub(meta["module"]), f"{name} is not in its module folder"
		assert path.parent.name == scrub(name)
		assert name not in RESERVED, f"{name} clashes with a Frappe/ERPNext doctype"
		assert name not in seen
		seen.add(name)
		assert (path.parent / "__init__.py").exists()
		assert (path.parent / f"{scrub(name)}.py").exists()
		if not meta.get("istable"):
			assert meta["permissions"], f"{name} has no permissions"
			roles = {p["role"] for p in meta["permissions"]}
			assert roles & {"FSM Manager"}, f"{name} does not grant the FSM Manager role"


def test_roles_fixture_matches_the_app_roles():
	roles = {r["role_name"] for r in json.loads((APP / "fixtures" / "role.json").read_text())}
	assert roles == {"Dispatcher", "Technician", "Customer Service", "Network Operator", "FSM Manager"}
	used = {p["role"] for _, meta in doctype_jsons() for p in meta["permissions"]}
	assert used - roles - {"System Manager"} == set(), "doctypes grant roles that are not shipped"


def test_hooks():
	tree = ast.parse((APP / "hooks.py").read_text())
	values = {}
	for node in tree.body:
		if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant | ast.List):
			try:
				value = ast.literal_eval(node.value)
			except ValueError:  # a list built from names
				continue
			values.update({t.id: value for t in node.targets if isinstance(t, ast.Name)})
	assert values["app_name"] == "gigafibre_fsm"
	assert values["export_python_type_annotations"] is True
	assert values["require_type_annotated_api_methods"] is True
	# ERPNext's set-up first (a company), then the app's (fiscal years around today)
	assert values["before_tests"] == [
		"erpnext.setup.utils.before_tests",
		"gigafibre_fsm.test_utils.before_tests",
	]


def _translatable_strings():
	"""Literal strings passed to _() in the Frappe layer and the templates of core errors."""
	found = set()
	error_names = {"InvalidInput", "IllegalTransition", "Conflict", "NotFound", "Forbidden", "CoreError"}
	for path in APP.rglob("*.py"):
		tree = ast.parse(path.read_text())
		for node in ast.walk(tree):
			if not isinstance(node, ast.Call) or not node.args:
				continue
			func = node.func
			name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
			first = node.args[0]
			if name == "_" or name in error_names:
				if isinstance(first, ast.Constant) and isinstance(first.value, str):
					found.add(first.value)
	return found


_JS_STRING = re.compile(r"""\b__\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def _desk_strings():
	"""Literal strings passed to __() in the desk's scripts and Vue components."""
	found = set()
	for path in [*APP.rglob("*.js"), *APP.rglob("*.vue")]:
		if "/dist/" in str(path) or "/node_modules/" in str(path):
			continue
		for double, single in _JS_STRING.findall(path.read_text(encoding="utf-8")):
			found.add((double or single).replace('\\"', '"').replace("\\'", "'"))
	return found


def test_every_message_has_a_french_translation():
	with open(APP / "translations" / "fr.csv", newline="", encoding="utf-8") as fh:
		translated = {row[0]: row[1] for row in csv.reader(fh) if row}
	missing = sorted(s for s in _translatable_strings() | _desk_strings() if not translated.get(s))
	assert missing == [], "add these to gigafibre_fsm/translations/fr.csv"
