"""The API's OpenAPI 3.1 description: complete, checked in up to date, right on a few
methods, valid, and served to logged-in users only."""

import json
import os

import frappe

from gigafibre_fsm import openapi
from gigafibre_fsm.api import openapi as openapi_api
from gigafibre_fsm.gigafibre_integrations.tests.test_permissions import endpoints
from gigafibre_fsm.test_utils import make_user
from gigafibre_fsm.testing import IntegrationTestCase

PREFIX = "/api/method/"


def path(method: str) -> str:
	return f"{PREFIX}gigafibre_fsm.api.{method}"


class TestOpenAPI(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.document = json.loads(openapi.dumps(openapi.build()))

	def tearDown(self):
		frappe.set_user("Administrator")
		super().tearDown()

	def test_every_whitelisted_method_is_described(self):
		described = {p.removeprefix(PREFIX) for p in self.document["paths"]}
		whitelisted = {name for name, _fn in endpoints()}
		self.assertTrue(whitelisted)
		self.assertEqual(sorted(whitelisted - described), [])
		self.assertEqual(sorted(described - whitelisted), [])
		for name, fn in endpoints():
			verbs = set(frappe.allowed_http_methods_for_whitelisted_func[fn]) & {"GET", "POST"}
			self.assertEqual(set(self.document["paths"][PREFIX + name]), {v.lower() for v in verbs}, name)

	def test_the_checked_in_file_is_up_to_date(self):
		file = openapi.default_path()
		rerun = f"run `bench --site {frappe.local.site} gigafibre-export-openapi` and commit {file}"
		self.assertTrue(os.path.exists(file), f"{file} is missing: {rerun}")
		with open(file, encoding="utf-8") as fh:
			text = fh.read()
		found = openapi.differences(json.loads(text), self.document)
		self.assertEqual(found, [], f"docs/openapi.json is out of date: {rerun}")
		self.assertEqual(text, openapi.dumps(self.document), f"docs/openapi.json is not formatted: {rerun}")

	def test_differences_name_the_method(self):
		changed = json.loads(json.dumps(self.document))
		del changed["paths"][path("dispatch.assign")]
		changed["paths"][path("dispatch.get_board")]["get"]["summary"] = "old"
		found = openapi.differences(changed, self.document)
		self.assertIn("gigafibre_fsm.api.dispatch.assign: missing from the file", found)
		self.assertIn("gigafibre_fsm.api.dispatch.get_board: differs (get.summary)", found)
		self.assertEqual(openapi.differences(self.document, self.document), [])

	def test_assign_is_post_only_with_typed_required_arguments(self):
		item = self.document["paths"][path("dispatch.assign")]
		self.assertEqual(set(item), {"post"})
		op = item["post"]
		body = op["requestBody"]["content"]["application/json"]["schema"]
		self.assertTrue(op["requestBody"]["required"])
		self.assertEqual(body["required"], ["job", "technician", "start"])
		for name in ("job", "technician", "start"):
			self.assertEqual(body["properties"][name], {"type": "string"})
		self.assertEqual(set(op["x-roles"]), {"Dispatcher", "FSM Manager"})
		self.assertIn("Roles: Dispatcher, FSM Manager", op["description"])
		self.assertEqual(op["security"], [{"token": []}, {"session": []}])
		self.assertEqual(
			op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["message"],
			{"type": "object"},
		)
		for status in ("403", "404", "409", "417"):
			self.assertIn(status, op["responses"])
		self.assertNotIn("429", op["responses"])

	def test_get_board_takes_query_parameters(self):
		op = self.document["paths"][path("dispatch.get_board")]["get"]
		self.assertEqual(
			[(p["name"], p["in"], p["required"], p["schema"]) for p in op["parameters"]],
			[("start", "query", True, {"type": "string"}), ("end", "query", True, {"type": "string"})],
		)
		self.assertNotIn("requestBody", op)
		self.assertIn("post", self.document["paths"][path("dispatch.get_board")])

	def test_optional_and_union_types(self):
		check = self.document["paths"][path("customers.check_address")]["post"]
		props = check["requestBody"]["content"]["application/json"]["schema"]["properties"]
		self.assertEqual(props["lat"], {"type": ["number", "null"], "default": None})
		self.assertFalse(check["requestBody"]["required"])
		validate = self.document["paths"][path("flows.validate_template")]["post"]
		template = validate["requestBody"]["content"]["application/json"]["schema"]["properties"]["template"]
		self.assertEqual(template, {"oneOf": [{"type": "object"}, {"type": "string"}]})
		lookup = self.document["paths"][path("network.lookup_equipment")]["get"]
		envelope = lookup["responses"]["200"]["content"]["application/json"]["schema"]
		self.assertNotIn("required", envelope)  # None: Frappe leaves `message` out

	def test_guest_methods_carry_their_proof_and_rate_limits(self):
		op = self.document["paths"][path("technician.get_jobs")]["get"]
		self.assertEqual(op["security"], [])
		self.assertTrue(op["x-guest"])
		self.assertNotIn("x-roles", op)
		self.assertIn("signed link token", op["description"])
		self.assertIn("429", op["responses"])
		self.assertEqual(
			[(r["limit"], r["seconds"], r["key"]) for r in op["x-rate-limits"]],
			[(600, 60, None), (60, 60, "token")],
		)
		verify = self.document["paths"][path("qr.verify_code")]
		self.assertEqual(set(verify), {"post"})
		self.assertEqual(verify["post"]["security"], [])
		self.assertIn("SMS one-time code", verify["post"]["description"])

	def test_info_and_security_schemes(self):
		import gigafibre_fsm

		self.assertEqual(self.document["openapi"], "3.1.0")
		self.assertEqual(self.document["info"]["title"], "Gigafibre FSM API")
		self.assertEqual(self.document["info"]["version"], gigafibre_fsm.__version__)
		schemes = self.document["components"]["securitySchemes"]
		self.assertEqual((schemes["token"]["in"], schemes["token"]["name"]), ("header", "Authorization"))
		self.assertEqual((schemes["session"]["in"], schemes["session"]["name"]), ("cookie", "sid"))
		self.assertEqual(list(self.document["paths"]), sorted(self.document["paths"]))

	def test_the_document_is_valid_openapi_3_1(self):
		try:
			from openapi_spec_validator import validate
		except ImportError:
			try:
				from openapi_spec_validator import validate_spec as validate
			except ImportError:
				self.skipTest("openapi-spec-validator is not installed: the document was not validated")
		validate(self.document)

	def test_the_endpoint_answers_a_logged_in_user(self):
		user = make_user([])
		frappe.set_user(user.name)
		document = openapi_api.openapi()
		self.assertEqual(json.loads(openapi.dumps(document)), self.document)
		document["paths"].clear()  # a copy: the cached document is untouched
		self.assertEqual(len(openapi_api.openapi()["paths"]), len(self.document["paths"]))

	def test_the_endpoint_refuses_guest(self):
		frappe.set_user("Guest")
		with self.assertRaises(frappe.PermissionError):
			openapi_api.openapi()
		# and over HTTP Frappe refuses before the call: it is not a guest method
		with self.assertRaises(frappe.PermissionError):
			frappe.is_whitelisted(openapi_api.openapi)
