"""Every role-checked endpoint of README's API tables, over HTTP (gunicorn, 4 workers):
called as a user holding only one of the roles it lists (plus the ERPNext roles README
says it also needs) it answers 200; called as a user holding every app role but those,
it answers 403 and changes nothing.

Each call gets fresh records from its own arrange function, committed first so the
server sees them.
"""

from datetime import datetime
from datetime import time as dtime

import frappe
from frappe.query_builder.functions import Count, Max
from frappe.utils import add_days, getdate

from gigafibre_fsm import permissions
from gigafibre_fsm.flows import runtime
from gigafibre_fsm.gigafibre_integrations.tests.test_permissions import endpoints
from gigafibre_fsm.test_utils import (
	make_contract,
	make_customer,
	make_item,
	make_job,
	make_location,
	make_quotation,
	make_skill,
	make_technician,
	make_template,
	make_user,
	step,
	unique,
)
from gigafibre_fsm.testing_http import GunicornTestCase


def tomorrow_at(hour: int) -> str:
	return str(datetime.combine(add_days(getdate(), 1), dtime(hour, 0)))


def template(**kw):
	return make_template([step("s1", "create_todo", {"description": "Rappeler {{doc.name}}"})], **kw)


def run(status: str | None = None) -> str:
	tpl = template()
	contract = make_contract()
	name = runtime.start_run(
		tpl.name, "Service Contract", contract.name, event="manual", occurrence=unique("o"), enqueue=False
	)
	if status:
		frappe.db.set_value("Flow Run", name, "status", status)
	return name


def equipment():
	return frappe.get_doc(
		{"doctype": "Service Equipment", "equipment_type": "ONT", "serial_no": unique("GF")}
	).insert(ignore_permissions=True)


def fresh_diagnostic(eqp: str) -> None:
	frappe.get_doc(
		{
			"doctype": "Device Diagnostic",
			"equipment": eqp,
			"diagnosed_at": frappe.utils.now_datetime(),
			"result": "{}",
		}
	).insert(ignore_permissions=True)


def stalled_billing_run() -> str:
	"""A Running Billing Run whose one chunk (no customers: a job that runs it bills nothing) was
	never started, as a dead worker leaves it."""
	from gigafibre_fsm.customers import billing_run

	run = billing_run.create_run(getdate(), "Administrator")
	frappe.db.set_value(billing_run.RUN, run, "status", "Running")
	billing_run._add_row(run, "chunks", 1, {"chunk": 1, "status": "Queued", "customers": "[]"})
	return run


_GEMINI: list = []


def label_photo() -> str:
	"""A photo the fake Gemini peer (started once for the process) reads as the label of new
	equipment; Gigafibre Settings' vision model points at that peer."""
	import base64

	from gigafibre_fsm.fakepeers.gemini import FakeGemini
	from gigafibre_fsm.test_utils import settings_for_update

	if not _GEMINI:
		_GEMINI.append(FakeGemini(api_key="roles-gemini-key").start())
	peer = _GEMINI[0]
	settings = settings_for_update()
	if settings.vision_api_base != peer.url:
		settings.vision_api_base = peer.url
		settings.vision_api_key = peer.api_key
		settings.vision_timeout = 30
		settings.save()
	image = b"\xff\xd8\xff\xe0" + unique("photo").encode()
	peer.add_label(image, {"barcodes": [], "fields": {"serial": equipment().serial_no}})
	return base64.b64encode(image).decode()


def preset():
	return frappe.get_doc(
		{
			"doctype": "Dispatch Preset",
			"preset_name": unique("Réparation"),
			"preset_type": "Job Template",
			"job_type": "Repair",
			"duration_minutes": 60,
			"required_skills": [{"skill": make_skill("Fibre"), "min_level": 1}],
		}
	).insert(ignore_permissions=True)


def offered(tech: str) -> tuple[str, str]:
	from gigafibre_fsm.dispatch import offer_pool

	job = make_job()
	(offer,) = offer_pool.offer_job(job.name, "Targeted", [tech])["offers"]
	return job.name, offer


# What each endpoint needs to answer 200: its arguments, made fresh for the caller
# (``me``: the caller's Technician, or another technician when the caller is not one).
def arrange(method: str, me: str) -> dict:
	if method == "get_board":
		return {"start": tomorrow_at(0), "end": tomorrow_at(23)}
	if method == "suggest_slots":
		return {"job": make_job().name}
	if method == "assign":
		return {"job": make_job().name, "technician": me, "start": tomorrow_at(9)}
	if method == "unassign":
		return {"job": make_job(technician=me, status="Assigned").name, "confirm": True}
	if method == "reschedule":
		return {"job": make_job().name, "start": tomorrow_at(11)}
	if method == "create_from_preset":
		return {"preset": preset().name, "customer": make_customer().name}
	if method == "publish_plan":
		plan = frappe.get_doc(
			{
				"doctype": "Dispatch Plan",
				"title": unique("Plan"),
				"period_start": tomorrow_at(0),
				"period_end": tomorrow_at(23),
				"items": [{"job": make_job().name, "technician": me, "start": tomorrow_at(13)}],
			}
		).insert(ignore_permissions=True)
		return {"plan": plan.name}
	if method == "offer_job":
		return {"job": make_job().name, "mode": "Targeted", "technicians": [me]}
	if method == "accept_offer":
		return {"offer": offered(me)[1]}
	if method == "decline_offer":
		return {"offer": offered(me)[1], "reason": "Trop loin"}
	if method == "claim_job":
		return {"job": offered(me)[0]}
	if method == "set_status":
		return {"job": make_job(technician=me, status="Assigned").name, "status": "En Route"}
	if method == "override_installation_gate":
		return {"job": make_job(job_type="Installation").name, "reason": "Mesure faite au wattmètre"}
	if method == "retry_notification":
		failed = frappe.get_doc(
			{
				"doctype": "Dispatch Notification",
				"technician": me,
				"kind": "Assignment",
				"body": "Travail demain 9 h",
				"to_number": "+15145550100",
				"status": "Failed",
				"error": "The SMS may already have been sent",
			}
		).insert(ignore_permissions=True)
		return {"notification": failed.name}
	if method == "get_catalogs":
		return {"applies_to": "Service Contract"}
	if method == "validate_template":
		return {"template": template().name}
	if method == "reorder_steps":
		steps = [
			step("s1", "create_todo", {"description": "a"}),
			step("s2", "create_todo", {"description": "b"}, deps=["s1"]),
		]
		return {"steps": steps, "step_id": "s2", "to_index": 0}
	if method in ("dry_run", "start_run"):
		return {
			"template": template().name,
			"reference_doctype": "Service Contract",
			"reference_name": make_contract().name,
		}
	if method == "cancel_run":
		return {"run": run()}
	if method == "retry_run":
		return {"run": run("Failed")}
	if method == "duplicate_template":
		return {"template": template().name}
	if method == "lookup_equipment":
		return {"query": equipment().serial_no}
	if method == "diagnose":
		eqp = equipment()
		fresh_diagnostic(eqp.name)
		return {"equipment": eqp.name}
	if method == "scan_label":
		return {"image": label_photo()}
	if method == "get_device_page":
		return {"serial": equipment().serial_no}
	if method == "check_address":
		return {"address": "1 rue Nulle part, Ailleurs"}  # not serviceable is still an answer (200)
	if method == "send_contract":
		customer = make_customer(
			cell_phone="+15145550123", email_billing=f"{unique('c').lower()}@example.com"
		)
		return {"contract": make_contract(customer=customer.name, contract_type="Residential").name}
	if method == "run_billing":
		return {"dry_run": True}  # what a run would invoice today: read only, for every caller
	if method == "resume_billing_run":
		return {"run": stalled_billing_run()}
	if method == "create_contract_from_quotation":
		customer = make_customer(
			cell_phone="+15145550124", email_billing=f"{unique('c').lower()}@example.com"
		)
		make_location(customer.name)
		return {"quotation": make_quotation(customer.name, [(make_item(down=100), 40, 40)]).name}
	if method == "get_contract_status":
		return {"contract": make_contract().name}
	if method == "preview_termination":
		return {"contract": make_contract().name, "date": str(getdate())}
	if method == "terminate_contract":
		return {"contract": make_contract().name, "date": str(getdate()), "reason": "Déménagement"}
	if method == "get_referral_summary":
		return {"customer": make_customer().name}
	if method == "get_timeline":
		return {"customer": make_customer().name, "limit": 10}
	if method == "send_sms":
		customer = make_customer(cell_phone="+15145550126")
		return {"reference_doctype": "Customer", "reference_name": customer.name, "body": "Bonjour"}
	if method == "sms_recipients":
		customer = make_customer(cell_phone="+15145550127")
		return {"reference_doctype": "Customer", "reference_name": customer.name}
	if method == "get_payment_link":
		from gigafibre_fsm.customers.tests.stripe_case import make_invoice, use_fake_stripe

		use_fake_stripe()
		return {"invoice": make_invoice(make_customer().name)}
	if method == "get_account_summary":
		return {"customer": make_customer().name}
	if method == "get_customer_360":
		return {"customer": make_customer().name}
	raise AssertionError(f"no arrangement for {method}: add one (README lists every endpoint)")


class TestEveryEndpointAsItsRoles(GunicornTestCase):
	users: dict = {}

	def user_with(self, roles) -> tuple[str, str]:
		"""A user holding exactly ``roles`` (one per role set, with its API key), and the
		Technician to act on: theirs when they are one, else a new one for each call."""
		key = tuple(sorted(roles))
		if key not in self.users:
			user = make_user(list(roles)).name
			linked = make_technician(user=user).name if permissions.TECHNICIAN in roles else None
			self.users[key] = (user, linked, self.client(user))
		user, linked, client = self.users[key]
		return client, linked or make_technician().name

	def test_each_listed_role_is_let_in_and_everyone_else_refused(self):
		checked = []
		for path, fn in sorted(endpoints()):
			roles = getattr(fn, "fsm_roles", None)
			if not roles:  # guest endpoints carry their own proof (token, code): tested beside them
				continue
			method = path.rsplit(".", 1)[1]
			for role in roles:
				client, me = self.user_with([role])
				args = arrange(method, me)
				frappe.db.commit()
				status, body = client.call(path, **args)
				self.assertEqual(status, 200, (path, role, body.get("exception") or body))
				checked.append((method, role))
			outsider_roles = [
				r for r in permissions.APP_ROLES if r not in roles and r != permissions.FSM_MANAGER
			]
			client, me = self.user_with(outsider_roles)
			args = arrange(method, me)
			frappe.db.commit()
			before = _rows()
			status, body = client.call(path, **args)
			self.assertEqual(status, 403, (path, outsider_roles, body))
			self.assertIn("ForbiddenError", body.get("exc_type", ""), path)
			self.assertEqual(_rows(), before, f"{path} wrote something although it refused")
		print(
			f"\nendpoint roles over HTTP: {len(checked)} (method, role) pairs let in, {len({m for m, _ in checked})} methods refused to outsiders"
		)
		self.assertGreaterEqual(len({m for m, _ in checked}), 24)

	def test_flows_on_erpnext_records_need_erpnext_read_roles(self):
		"""README: to dry-run or start a flow on a Customer, the user also needs a role that
		reads Customers in ERPNext (Sales User); the app's roles alone are refused, cleanly."""
		tpl = template(applies_to="Customer")
		customer = make_customer()
		alone = make_user([permissions.CUSTOMER_SERVICE]).name
		with_sales = make_user([permissions.CUSTOMER_SERVICE, "Sales User"]).name
		manager = make_user([permissions.FSM_MANAGER]).name
		args = {"template": tpl.name, "reference_doctype": "Customer", "reference_name": customer.name}
		clients = {u: self.client(u) for u in (alone, with_sales, manager)}
		frappe.db.commit()
		for user in (alone, manager):
			for method in ("dry_run", "start_run"):
				status, body = clients[user].call(f"gigafibre_fsm.api.flows.{method}", **args)
				self.assertEqual(status, 403, (user, method, body))
		status, body = clients[with_sales].call("gigafibre_fsm.api.flows.dry_run", **args)
		self.assertEqual(status, 200, body)
		status, body = clients[with_sales].call("gigafibre_fsm.api.flows.start_run", **args)
		self.assertEqual(status, 200, body)
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("Flow Run", body["message"]["run"], "reference_name"), customer.name
		)


APP_DOCTYPES = (
	"Dispatch Job",
	"Dispatch Offer",
	"Dispatch Plan",
	"Dispatch Notification",
	"Flow Run",
	"Flow Template",
	"Device Diagnostic",
	"Service Equipment",
	"ToDo",
)


def _rows() -> dict:
	"""The rows and last change of the doctypes an endpoint could write, as the server committed them."""
	frappe.db.rollback()
	rows = {}
	for dt in APP_DOCTYPES:
		table = frappe.qb.DocType(dt)
		rows[dt] = frappe.qb.from_(table).select(Count("*"), Max(table.modified)).run()[0]
	return rows
