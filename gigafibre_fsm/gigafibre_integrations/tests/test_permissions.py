"""The app's endpoints: typed, permission-checked, POST for mutations."""

import importlib
import inspect
import pkgutil

import frappe

import gigafibre_fsm.api
from gigafibre_fsm.api import flows as flows_api
from gigafibre_fsm.exceptions import ForbiddenError
from gigafibre_fsm.test_utils import make_user
from gigafibre_fsm.testing import IntegrationTestCase


def endpoints():
	for info in pkgutil.iter_modules(gigafibre_fsm.api.__path__):
		module = importlib.import_module(f"gigafibre_fsm.api.{info.name}")
		for name, fn in vars(module).items():
			if callable(fn) and fn in frappe.whitelisted and fn.__module__ == module.__name__:
				yield f"{module.__name__}.{name}", fn


class TestEndpoints(IntegrationTestCase):
	def test_every_endpoint_is_fully_annotated(self):
		bare = []
		for name, fn in endpoints():
			sig = inspect.signature(fn)
			if sig.return_annotation is inspect.Signature.empty:
				bare.append(f"{name} -> ?")
			bare += [
				f"{name}({p})" for p, d in sig.parameters.items() if d.annotation is inspect.Parameter.empty
			]
		self.assertEqual(bare, [])
		self.assertTrue(list(endpoints()))

	def test_mutations_are_post_only(self):
		for name, fn in endpoints():
			if getattr(fn, "fsm_roles", None) is None:
				continue
			# a list on v15, a tuple on v16 (frappe/frappe#40609): compare as sets
			methods = set(frappe.allowed_http_methods_for_whitelisted_func[fn])
			self.assertEqual(methods, {"POST"} if fn.fsm_write else {"GET", "POST"}, name)

	def test_role_check_refuses_a_user_without_the_role(self):
		outsider = make_user(["Technician"])
		frappe.set_user(outsider.name)
		try:
			with self.assertRaises(ForbiddenError):
				flows_api.get_catalogs()
		finally:
			frappe.set_user("Administrator")

	def test_role_check_lets_the_role_in(self):
		dispatcher = make_user(["Dispatcher"])
		frappe.set_user(dispatcher.name)
		try:
			catalogs = flows_api.get_catalogs("Service Contract")
		finally:
			frappe.set_user("Administrator")
		self.assertIn("send_sms", {k["name"] for k in catalogs["step_kinds"]})
