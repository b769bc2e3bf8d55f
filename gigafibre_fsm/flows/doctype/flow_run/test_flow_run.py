# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

"""The flow runtime in a real bench: triggers, waits, retries, concurrency, frozen steps.

advance_run is a job entry and commits (it starts a fresh transaction), so these
tests create uniquely named records and leave them behind.
"""

import json
import threading
from datetime import timedelta

import frappe
from frappe.utils import get_datetime, now_datetime

from gigafibre_fsm.api import flows as api
from gigafibre_fsm.fakepeers.http import FakePeer, Response
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.flows import fire, jobs, runtime
from gigafibre_fsm.flows.kinds import sign_body
from gigafibre_fsm.settings import get_settings
from gigafibre_fsm.test_utils import (
	use_fake_twilio,
	make_contract,
	make_customer,
	make_template,
	step,
	settings_for_update,
)
from gigafibre_fsm.testing import IntegrationTestCase


class HookPeer(FakePeer):
	"""Fake peer for the webhook step: a receiver that records signed POSTs (no real API)."""

	def __init__(self, status=200, delay=0.0):
		self.status, self.delay = status, delay
		super().__init__()

	def setup_routes(self):
		@self.route("POST", r"/hook")
		def hook(request):
			return Response.json({"ok": True}, status=self.status, delay=self.delay)


def run_doc(name):
	return frappe.get_doc("Flow Run", name)


def states(name):
	return {row.step_id: row.status for row in run_doc(name).steps}


class TestFlowRun(IntegrationTestCase):
	def test_trigger_starts_exactly_one_run(self):
		tpl = make_template(
			[step("s1", "create_todo", {"description": "Installer {{doc.customer}}"})],
			trigger_event="on_contract_signed",
			trigger_condition=json.dumps({"==": [{"var": "doc.contract_type"}, "Residential"]}),
		)
		contract = make_contract(contract_type="Residential")
		first = fire("on_contract_signed", contract)
		second = fire("on_contract_signed", contract)
		mine = [r for r in first if frappe.db.get_value("Flow Run", r, "template") == tpl.name]
		self.assertEqual(len(mine), 1)
		self.assertEqual(sorted(first), sorted(second))
		self.assertEqual(
			frappe.db.count("Flow Run", {"template": tpl.name, "reference_name": contract.name}), 1
		)
		commercial = make_contract(contract_type="Commercial")
		fire("on_contract_signed", commercial)
		self.assertFalse(
			frappe.db.exists("Flow Run", {"template": tpl.name, "reference_name": commercial.name})
		)

	def test_doc_event_insert_runs_once(self):
		tpl = make_template(
			[step("s1", "create_todo", {"description": "Bienvenue {{doc.customer_name}}"})],
			applies_to="Customer",
			trigger_event="on_insert",
		)
		customer = make_customer()
		customer.save()  # an update is not a second insert
		self.assertEqual(
			frappe.db.count("Flow Run", {"template": tpl.name, "reference_name": customer.name}), 1
		)

	def test_run_does_what_it_says_and_records_it(self):
		tpl = make_template(
			[
				step("s1", "create_issue", {"subject": "Installation {{doc.name}}"}, label="Dossier"),
				step("s2", "create_todo", {"description": "Planifier {{steps.s1.name}}"}, deps=["s1"]),
			]
		)
		contract = make_contract()
		run = api.start_run(tpl.name, "Service Contract", contract.name)["run"]
		self.assertEqual(runtime.advance_run(run), "Completed")
		doc = run_doc(run)
		issue = json.loads(doc.steps[0].output)["name"]
		self.assertEqual(frappe.db.get_value("Issue", issue, "subject"), f"Installation {contract.name}")
		todo = json.loads(doc.steps[1].output)["name"]
		self.assertEqual(frappe.db.get_value("ToDo", todo, "description"), f"Planifier {issue}")
		self.assertEqual(frappe.db.get_value("ToDo", todo, "reference_name"), contract.name)
		self.assertTrue(all(row.finished_at for row in doc.steps))

	def test_wait_wakes_on_the_tick_after_it_is_due(self):
		tpl = make_template(
			[
				step("s1", "wait", {"delay_minutes": 10}),
				step("s2", "create_todo", {"description": "Rappeler"}, deps=["s1"]),
			]
		)
		t0 = now_datetime()
		run = runtime.start_run(tpl.name, "Service Contract", make_contract().name, enqueue=False)
		self.assertEqual(runtime.advance_run(run, now=t0), "Waiting")
		wake = get_datetime(run_doc(run).next_wake_at)
		self.assertEqual(wake.replace(microsecond=0), (t0 + timedelta(minutes=10)).replace(microsecond=0))
		self.assertNotIn(run, jobs.due_runs(t0 + timedelta(minutes=9)))
		self.assertIn(run, jobs.due_runs(t0 + timedelta(minutes=10, seconds=1)))
		self.assertEqual(runtime.advance_run(run, now=t0 + timedelta(minutes=5)), "Waiting")
		self.assertEqual(runtime.advance_run(run, now=t0 + timedelta(minutes=10, seconds=1)), "Completed")
		self.assertEqual(states(run), {"s1": "Completed", "s2": "Completed"})

	def test_failing_step_retries_then_fails_visibly(self):
		peer = HookPeer(status=503).start()
		self.addCleanup(peer.stop)
		tpl = make_template(
			[
				step("s1", "webhook", {"url": peer.url + "/hook"}, label="Prévenir"),
				step("s2", "create_todo", {"description": "x"}, deps=["s1"]),
			]
		)
		t = now_datetime()
		run = runtime.start_run(tpl.name, "Service Contract", make_contract().name, enqueue=False)
		self.assertEqual(runtime.advance_run(run, now=t), "Waiting")
		self.assertIn("503", run_doc(run).steps[0].error)
		for minutes in (2, 10):
			t += timedelta(minutes=minutes)
			status = runtime.advance_run(run, now=t)
		self.assertEqual(status, "Failed")
		doc = run_doc(run)
		self.assertEqual(doc.steps[0].attempts, 3)
		self.assertEqual(states(run), {"s1": "Failed", "s2": "Cancelled"})
		self.assertIn("Prévenir", doc.error)
		self.assertEqual(len(peer.requests), 3)
		self.assertTrue(
			frappe.db.exists(
				"Notification Log", {"document_type": "Flow Run", "document_name": run, "for_user": tpl.owner}
			)
		)
		# and the attempts carried distinct idempotency keys, each body signed
		keys = [r.headers["idempotency-key"] for r in peer.requests]
		self.assertEqual(len(set(keys)), 3)
		secret = get_settings().token_secret
		self.assertEqual(
			peer.requests[0].headers["x-gigafibre-signature"], sign_body(secret, peer.requests[0].body)
		)

	def test_two_concurrent_ticks_do_not_double_execute(self):
		peer = HookPeer(delay=0.5).start()
		self.addCleanup(peer.stop)
		tpl = make_template([step("s1", "webhook", {"url": peer.url + "/hook"})])
		run = runtime.start_run(tpl.name, "Service Contract", make_contract().name, enqueue=False)
		frappe.db.commit()
		site, results, errors = frappe.local.site, [], []

		def worker():
			try:
				frappe.init(site=site)
				frappe.connect()
				results.append(runtime.advance_run(run))
				frappe.db.commit()
			except Exception as e:
				errors.append(e)
			finally:
				frappe.destroy()

		threads = [threading.Thread(target=worker) for _ in range(2)]
		for t in threads:
			t.start()
		for t in threads:
			t.join(60)
		self.assertEqual(errors, [])
		self.assertEqual(len(peer.requests), 1)
		self.assertEqual(sorted(results), ["Completed", "Completed"])

	def test_editing_the_template_does_not_change_a_running_run(self):
		tpl = make_template(
			[
				step("s1", "wait", {"delay_minutes": 30}),
				step("s2", "create_todo", {"description": "v1"}, deps=["s1"]),
			]
		)
		t0 = now_datetime()
		run = runtime.start_run(tpl.name, "Service Contract", make_contract().name, enqueue=False)
		runtime.advance_run(run, now=t0)
		tpl.reload()
		tpl.steps[1].config = json.dumps({"description": "v2"})
		tpl.append("steps", step("s3", "create_todo", {"description": "new"}, deps=["s2"]))
		tpl.save()
		self.assertEqual(tpl.version, 2)
		runtime.advance_run(run, now=t0 + timedelta(minutes=31))
		doc = run_doc(run)
		self.assertEqual((doc.status, doc.template_version), ("Completed", 1))
		self.assertEqual([r.step_id for r in doc.steps], ["s1", "s2"])
		todo = json.loads(doc.steps[1].output)["name"]
		self.assertEqual(frappe.db.get_value("ToDo", todo, "description"), "v1")

	def test_send_sms_through_twilio(self):
		peer = FakeTwilio().start()
		self.addCleanup(peer.stop)
		use_fake_twilio(peer)
		customer = make_customer(cell_phone="+15145550199")
		tpl = make_template(
			[
				step(
					"s1",
					"send_sms",
					{"to": "{{customer.cell_phone}}", "body": "Bon de commande reçu {{doc.name}}"},
				)
			]
		)
		contract = make_contract(customer=customer.name)
		run = runtime.start_run(tpl.name, "Service Contract", contract.name, enqueue=False)
		self.assertEqual(runtime.advance_run(run), "Completed")
		(sent,) = peer.sent
		self.assertEqual(
			(sent["to"], sent["body"]), ("+15145550199", f"Bon de commande reçu {contract.name}")
		)
		self.assertEqual(json.loads(run_doc(run).steps[0].output)["sid"], sent["sid"])

	def test_cancel_and_retry(self):
		tpl = make_template([step("s1", "wait", {"delay_minutes": 60})])
		run = runtime.start_run(tpl.name, "Service Contract", make_contract().name, enqueue=False)
		runtime.advance_run(run)
		self.assertEqual(api.cancel_run(run)["status"], "Cancelled")
		self.assertEqual(states(run), {"s1": "Cancelled"})
		with self.assertRaises(frappe.ValidationError):
			api.retry_run(run)

	def test_dry_run_has_no_side_effects(self):
		tpl = make_template(
			[
				step("s1", "create_issue", {"subject": "Install {{doc.name}}"}),
				step(
					"s2",
					"create_todo",
					{"description": "Commercial only"},
					condition={"==": [{"var": "doc.contract_type"}, "Commercial"]},
				),
				step("s3", "create_todo", {"description": "After {{doc.customer}}"}, deps=["s1", "s2"]),
			]
		)
		contract = make_contract(contract_type="Residential")
		issues_before = frappe.db.count("Issue")
		result = api.dry_run(tpl.name, "Service Contract", contract.name)
		self.assertEqual([s["step_id"] for s in result["steps"]], ["s1", "s3"])
		self.assertEqual(result["skipped"], ["s2"])
		self.assertEqual(result["steps"][0]["config"]["subject"], f"Install {contract.name}")
		self.assertEqual(frappe.db.count("Issue"), issues_before)


class TestStepKinds(IntegrationTestCase):
	def test_approval_waits_for_the_todo_decision(self):
		tpl = make_template(
			[
				step("s1", "approval", {"description": "OK ?", "role": "FSM Manager"}),
				step(
					"s2",
					"create_todo",
					{"description": "approved"},
					deps=["s1"],
					condition={"==": [{"var": "steps.s1.approved"}, True]},
				),
			]
		)
		t0 = now_datetime()
		run = runtime.start_run(tpl.name, "Service Contract", make_contract().name, enqueue=False)
		self.assertEqual(runtime.advance_run(run, now=t0), "Waiting")
		todo = json.loads(run_doc(run).steps[0].output)["todo"]
		self.assertEqual(runtime.advance_run(run, now=t0 + timedelta(minutes=6)), "Waiting")
		frappe.db.set_value("ToDo", todo, "status", "Closed")
		self.assertEqual(runtime.advance_run(run, now=t0 + timedelta(minutes=12)), "Completed")
		self.assertEqual(states(run), {"s1": "Completed", "s2": "Completed"})

	def test_rejection_skips_the_approved_branch(self):
		tpl = make_template(
			[
				step("s1", "approval", {"description": "OK ?"}),
				step(
					"s2",
					"create_todo",
					{"description": "approved"},
					deps=["s1"],
					condition={"==": [{"var": "steps.s1.approved"}, True]},
				),
			]
		)
		run = runtime.start_run(tpl.name, "Service Contract", make_contract().name, enqueue=False)
		runtime.advance_run(run)
		frappe.db.set_value("ToDo", json.loads(run_doc(run).steps[0].output)["todo"], "status", "Cancelled")
		self.assertEqual(runtime.advance_run(run, now=now_datetime() + timedelta(minutes=6)), "Completed")
		self.assertEqual(states(run), {"s1": "Completed", "s2": "Skipped"})

	def test_subflow_waits_for_its_child(self):
		child = make_template([step("s1", "create_todo", {"description": "child"})])
		parent = make_template(
			[
				step("s1", "subflow", {"template": child.name, "wait": True}),
				step("s2", "create_todo", {"description": "after"}, deps=["s1"]),
			]
		)
		run = runtime.start_run(parent.name, "Service Contract", make_contract().name, enqueue=False)
		self.assertEqual(runtime.advance_run(run), "Waiting")
		child_run = json.loads(run_doc(run).steps[0].output)["run"]
		self.assertEqual(frappe.db.get_value("Flow Run", child_run, "parent_run"), run)
		self.assertEqual(runtime.advance_run(child_run), "Completed")
		self.assertEqual(runtime.advance_run(run, now=now_datetime() + timedelta(minutes=6)), "Completed")

	def test_set_field_and_send_email(self):
		if not frappe.db.exists("Email Account", {"default_outgoing": 1, "enable_outgoing": 1}):
			frappe.get_doc(
				{
					"doctype": "Email Account",
					"email_account_name": "GF Flows Outgoing",
					"email_id": "flows@example.com",
					"enable_outgoing": 1,
					"default_outgoing": 1,
					"smtp_server": "127.0.0.1",
					"no_smtp_authentication": 1,
				}
			).insert(ignore_permissions=True)
		customer = make_customer(email_billing="client@example.com")
		tpl = make_template(
			[
				step("s1", "set_field", {"field": "duration_months", "value": 36}),
				step(
					"s2",
					"send_email",
					{
						"recipients": "{{customer.email_billing}}",
						"subject": "Contrat {{doc.name}}",
						"message": "Merci",
					},
				),
				step("s3", "set_field", {"field": "no_such_field", "value": 1}, deps=["s1"]),
			]
		)
		contract = make_contract(customer=customer.name)
		run = runtime.start_run(tpl.name, "Service Contract", contract.name, enqueue=False)
		self.assertEqual(runtime.advance_run(run), "Failed")
		self.assertEqual(frappe.db.get_value("Service Contract", contract.name, "duration_months"), 36)
		self.assertTrue(frappe.db.exists("Email Queue", {"reference_name": contract.name}))
		self.assertIn("no_such_field", run_doc(run).steps[2].error)

	def test_tick_enqueues_each_due_run_once(self):
		from gigafibre_fsm.test_utils import drop_flow_jobs, flow_jobs_in_queue

		tpl = make_template([step("s1", "wait", {"delay_minutes": 1})])
		run = runtime.start_run(tpl.name, "Service Contract", make_contract().name, enqueue=False)
		runtime.advance_run(run, now=now_datetime() - timedelta(minutes=5))
		self.addCleanup(drop_flow_jobs, run)
		jobs.tick()
		jobs.tick()
		frappe.db.commit()
		self.assertEqual(len(flow_jobs_in_queue(run)), 1)
		frappe.local.flags.pop("gigafibre_runs_enqueued", None)
		jobs.tick()  # a later tick: the batch job is still queued
		frappe.db.commit()
		self.assertEqual(len(flow_jobs_in_queue(run)), 1)
