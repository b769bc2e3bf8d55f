"""Dispatch in a real bench: job chains (installation, from a flow step, the seeded residential
installation), background jobs (recurring jobs across DST, positions from Traccar, the
notification outbox), the preset pool, claims, reschedules and overload."""

import json
from datetime import datetime, timedelta

import frappe
from frappe.utils import add_days, getdate, now_datetime

from gigafibre_fsm.api import dispatch as api
from gigafibre_fsm.dispatch import offer_pool
from gigafibre_fsm.exceptions import ConflictError
from gigafibre_fsm.test_utils import (
	make_contract,
	make_customer,
	make_job,
	make_location,
	make_skill,
	make_technician,
	make_template,
	settings_for_update,
	step,
	tomorrow_at,
	unique,
	use_fake_twilio,
)
from gigafibre_fsm.testing import IntegrationTestCase


class TestChains(IntegrationTestCase):
	def test_installation_chain_activates_and_invoices_once(self):
		from gigafibre_fsm.customers.doctype.service_subscription.test_service_subscription import make_plan

		customer = make_customer()
		loc = make_location(customer.name)
		sub = frappe.get_doc(
			{
				"doctype": "Service Subscription",
				"customer": customer.name,
				"service_location": loc.name,
				"plan": make_plan(),
				"monthly_price": 39.95,
			}
		).insert()
		frappe.get_doc(  # the ONT the installation gate checks: good signal, reporting
			{
				"doctype": "Service Equipment",
				"equipment_type": "ONT",
				"serial_no": unique("ONT"),
				"service_location": loc.name,
				"last_rx_dbm": -19.0,
				"last_inform": now_datetime() + timedelta(hours=1),
			}
		).insert(ignore_permissions=True)
		tech = make_technician()
		root = make_job(
			job_type="Installation",
			chain_kind="Installation",
			customer=customer.name,
			service_location=loc.name,
		)
		last = make_job(
			job_type="Installation",
			chain_kind="Installation",
			customer=customer.name,
			service_location=loc.name,
			parent_job=root.name,
			depends_on=json.dumps([root.name]),
		)
		api.assign(root.name, tech.name, str(tomorrow_at(9)))
		api.assign(last.name, tech.name, str(tomorrow_at(11)))
		with self.assertRaises(ConflictError):  # its predecessor is not complete
			api.set_status(last.name, "On Site")
		api.set_status(root.name, "On Site")
		result = api.set_status(root.name, "Completed")
		self.assertEqual(result["unblocked"], [last.name])
		self.assertFalse(result["chain_complete"])
		api.set_status(last.name, "On Site")
		result = api.set_status(last.name, "Completed")
		self.assertTrue(result["chain_complete"])
		sub.reload()
		self.assertEqual((sub.status, getdate(sub.start_date)), ("Actif", add_days(getdate(), 1)))
		invoice = frappe.db.get_value("Dispatch Job", root.name, "invoice")
		self.assertTrue(invoice)
		from gigafibre_fsm.core.dispatch import prorate

		days, month_days, amount = prorate(39.95, add_days(getdate(), 1))
		self.assertAlmostEqual(
			frappe.db.get_value("Sales Invoice", invoice, "net_total"), float(amount), places=2
		)
		for item in frappe.get_doc("Sales Invoice", invoice).items:
			self.assertTrue(item.income_account)
		api.set_status(last.name, "Completed")  # submitted twice
		self.assertEqual(frappe.db.count("Sales Invoice", {"customer": customer.name}), 1)

	def test_flow_step_creates_a_job_chain_once(self):
		tpl = make_template(
			[
				step("s1", "create_issue", {"subject": "Installation {{doc.name}}"}),
				step(
					"s2",
					"create_dispatch_job",
					{
						"job_type": "Installation",
						"chain_kind": "Installation",
						"subject": "Raccordement {{doc.name}}",
						"issue_step": "s1",
					},
					deps=["s1"],
				),
				step(
					"s3",
					"create_dispatch_job",
					{
						"job_type": "Installation",
						"chain_kind": "Installation",
						"subject": "Installation {{doc.name}}",
						"chain_root_step": "s2",
						"after_steps": ["s2"],
					},
					deps=["s2"],
				),
			],
			trigger_event="on_contract_signed",
		)
		from gigafibre_fsm.flows import fire
		from gigafibre_fsm.flows.runtime import advance_run

		contract = make_contract()
		(run,) = [
			r
			for r in fire("on_contract_signed", contract)
			if frappe.db.get_value("Flow Run", r, "template") == tpl.name
		]
		fire("on_contract_signed", contract)
		self.assertEqual(advance_run(run), "Completed")
		jobs = frappe.get_all(
			"Dispatch Job",
			filters={"flow_run": run},
			fields=["name", "parent_job", "depends_on", "issue", "flow_step"],
			order_by="flow_step",
		)
		self.assertEqual(len(jobs), 2)
		root, follower = jobs
		self.assertEqual(follower.parent_job, root.name)
		self.assertEqual(json.loads(follower.depends_on), [root.name])
		self.assertTrue(root.issue)
		self.assertEqual(
			frappe.db.count("Flow Run", {"template": tpl.name, "reference_name": contract.name}), 1
		)


class TestBackgroundJobs(IntegrationTestCase):
	def test_recurring_job_occurrences_across_dst_once(self):
		from gigafibre_fsm.dispatch.jobs import generate_recurring_jobs

		first = datetime(2026, 10, 26, 9, 0)  # a Monday, before the November 1 change
		job = make_job(
			scheduled_start=first, recurrence_rule="FREQ=WEEKLY;COUNT=5", recurrence_exdates="2026-11-09"
		)
		created = generate_recurring_jobs(now=datetime(2026, 10, 25), horizon_days=30)
		self.assertEqual(created, 3)  # Nov 2, 16, 23: the 9th is an exception
		starts = sorted(
			frappe.get_all("Dispatch Job", filters={"recurrence_parent": job.name}, pluck="scheduled_start")
		)
		self.assertEqual([s.hour for s in starts], [9, 9, 9])  # 09:00 local on both sides of the change
		self.assertEqual(
			starts, [datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 16, 9, 0), datetime(2026, 11, 23, 9, 0)]
		)
		self.assertEqual(generate_recurring_jobs(now=datetime(2026, 10, 25), horizon_days=30), 0)

	def test_technician_positions_from_traccar(self):
		from gigafibre_fsm.dispatch.jobs import poll_positions
		from gigafibre_fsm.fakepeers.traccar import FakeTraccar

		peer = FakeTraccar(token="tr-token").start()
		self.addCleanup(peer.stop)
		settings = settings_for_update()
		settings.traccar_url = peer.url
		settings.traccar_token = "tr-token"
		settings.save()
		tech = make_technician()
		frappe.db.set_value("Technician", tech.name, "traccar_device_id", "101")
		peer.add_device(101)
		peer.set_position(101, 45.2, -73.7, speed_knots=10)
		self.assertGreaterEqual(poll_positions(), 1)
		tech.reload()
		self.assertAlmostEqual(tech.last_latitude, 45.2, places=4)
		self.assertAlmostEqual(tech.last_speed_kmh, 18.52, places=1)

	def test_notification_outbox_sends_once_through_twilio(self):
		from gigafibre_fsm.dispatch import notify
		from gigafibre_fsm.fakepeers.twilio import FakeTwilio

		peer = FakeTwilio().start()
		self.addCleanup(peer.stop)
		use_fake_twilio(peer)
		tech = make_technician(phone="+15145550111")
		name = notify.queue(tech.name, "Assignment", "Travail DJ-1 demain 9 h")
		self.assertEqual(notify.send(name), "Sent")
		self.assertEqual(notify.send(name), "Sent")  # a second run of the job sends nothing more
		self.assertEqual(len(peer.sent), 1)
		self.assertEqual(peer.sent[0]["to"], "+15145550111")
		self.assertTrue(frappe.db.get_value("Dispatch Notification", name, "sid"))


class TestMoreDispatch(IntegrationTestCase):
	def test_preset_pool_claim_reschedule_and_overload(self):
		skill = "Fibre"
		preset = frappe.get_doc(
			{
				"doctype": "Dispatch Preset",
				"preset_name": unique("Installation fibre"),
				"preset_type": "Job Template",
				"job_type": "Installation",
				"duration_minutes": 480,
				"subject": "Installation {{customer}}",
				"required_skills": [{"skill": make_skill(skill), "min_level": 1}],
				"checklist": [{"item": "Mesurer la puissance optique"}, {"item": "Photo de l'ONT"}],
			}
		).insert()
		customer = make_customer()
		name = api.create_from_preset(preset.name, customer.name)["job"]
		job = frappe.get_doc("Dispatch Job", name)
		self.assertEqual(
			(job.job_type, job.duration_minutes, job.subject),
			("Installation", 480, f"Installation {customer.name}"),
		)
		self.assertEqual([c.item for c in job.checklist], ["Mesurer la puissance optique", "Photo de l'ONT"])
		busy = make_technician(skills={skill: 2})
		free = make_technician(skills={skill: 2})
		api.assign(make_job(duration_minutes=240).name, busy.name, str(tomorrow_at(8)))
		group = frappe.get_doc(
			{
				"doctype": "Dispatch Preset",
				"preset_name": unique("Équipe sud"),
				"preset_type": "Resource Group",
				"technicians": [{"technician": busy.name}, {"technician": free.name}],
			}
		).insert()
		frappe.db.set_value("Dispatch Job", name, "scheduled_start", tomorrow_at(9))
		offers = api.offer_job(name, "Pool", pool=group.name)["offers"]
		flags = dict(
			frappe.get_all(
				"Dispatch Offer",
				filters={"name": ["in", offers]},
				fields=["technician", "overload"],
				as_list=True,
			)
		)
		self.assertEqual(flags[busy.name], 1)  # 4 h booked + 8 h offered > 9 h shift
		self.assertEqual(flags[free.name], 0)
		outsider = make_technician(skills={skill: 2})
		with self.assertRaises(frappe.PermissionError):
			offer_pool.claim_job(name, outsider.name)
		self.assertEqual(offer_pool.claim_job(name, free.name)["technician"], free.name)
		with self.assertRaises(ConflictError):
			offer_pool.claim_job(name, busy.name)
		result = api.reschedule(name, str(tomorrow_at(8, 30)))
		self.assertEqual(result["scheduled_end"], str(tomorrow_at(16, 30)))

	def test_seeded_residential_installation_creates_its_chain_once(self):
		contract = make_contract(contract_type="Residential")
		from gigafibre_fsm.flows import fire
		from gigafibre_fsm.flows.runtime import advance_run

		seed = frappe.db.get_value("Flow Template", {"seed_key": "residential_installation"}, "name")
		runs = [
			r
			for r in fire("on_contract_signed", contract)
			if frappe.db.get_value("Flow Run", r, "template") == seed
		]
		fire("on_contract_signed", contract)
		self.assertEqual(len(runs), 1)
		self.assertEqual(advance_run(runs[0]), "Completed")
		jobs = frappe.get_all(
			"Dispatch Job",
			filters={"flow_run": runs[0]},
			fields=["name", "parent_job", "chain_kind", "issue"],
			order_by="flow_step",
		)
		self.assertEqual(len(jobs), 2)
		self.assertEqual(jobs[1].parent_job, jobs[0].name)
		self.assertEqual({j.chain_kind for j in jobs}, {"Installation"})
		self.assertTrue(jobs[0].issue)
		self.assertEqual(frappe.db.count("Flow Run", {"template": seed, "reference_name": contract.name}), 1)
