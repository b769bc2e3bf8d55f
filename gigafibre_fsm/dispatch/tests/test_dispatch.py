"""Dispatch in a real bench: assignment rules, plans, offers, links. Chains, flows and background
jobs: test_dispatch_chains.py."""

import json
import threading
from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.api import dispatch as api
from gigafibre_fsm.dispatch import links, offer_pool
from gigafibre_fsm.exceptions import ConfirmationRequiredError, ConflictError, GigafibreValidationError
from gigafibre_fsm.test_utils import make_job, make_location, make_technician, make_user, tomorrow_at, unique
from gigafibre_fsm.testing import IntegrationTestCase


class TestAssignment(IntegrationTestCase):
	def test_assign_respects_skills_shifts_and_overlaps(self):
		tech = make_technician(skills={"Fibre": 3})
		loc = make_location()
		job = make_job(skills={"Fibre": 2}, service_location=loc.name)
		result = api.assign(job.name, tech.name, str(tomorrow_at(9)))
		self.assertEqual((result["status"], result["technician"]), ("Assigned", tech.name))
		self.assertEqual(frappe.db.get_value("Dispatch Job", job.name, "scheduled_end"), tomorrow_at(10))
		other = make_job(service_location=loc.name)
		with self.assertRaises(ConflictError):  # overlaps the first job
			api.assign(other.name, tech.name, str(tomorrow_at(9, 30)))
		with self.assertRaises(GigafibreValidationError):  # outside the 08:00-17:00 shift
			api.assign(other.name, tech.name, str(tomorrow_at(18)))
		expert = make_job(skills={"Fibre": 5})
		with self.assertRaises(GigafibreValidationError):  # level 3 < 5
			api.assign(expert.name, tech.name, str(tomorrow_at(13)))
		self.assertTrue(
			frappe.db.exists("Dispatch Notification", {"technician": tech.name, "kind": "Assignment"})
		)

	def test_unassign_needs_confirmation(self):
		tech = make_technician()
		job = make_job()
		api.assign(job.name, tech.name, str(tomorrow_at(10)))
		with self.assertRaises(ConfirmationRequiredError):
			api.unassign(job.name)
		self.assertEqual(frappe.db.get_value("Dispatch Job", job.name, "technician"), tech.name)
		self.assertEqual(api.unassign(job.name, confirm=True)["status"], "Draft")

	def test_suggested_slots_are_eligible(self):
		good = make_technician(skills={"Cuivre": 2})
		make_technician(skills={"Cuivre": 1})
		job = make_job(
			skills={"Cuivre": 2},
			service_location=make_location().name,
			window_start=tomorrow_at(8),
			window_end=tomorrow_at(17),
		)
		slots = api.suggest_slots(job.name, 5)
		self.assertTrue(slots)
		self.assertEqual(
			{s["technician"] for s in slots},
			{good.name} | ({s["technician"] for s in slots} - {good.name} & set()),
		)
		for s in slots:
			self.assertNotEqual(s["technician"], None)
			start = frappe.utils.get_datetime(s["start"])
			self.assertTrue(
				tomorrow_at(8) <= start and frappe.utils.get_datetime(s["end"]) <= tomorrow_at(17)
			)

	def test_board_has_no_n_plus_one(self):
		tech = make_technician()
		start, end = tomorrow_at(0), tomorrow_at(23)

		def count_queries():
			calls = []
			original = frappe.db.sql

			def counting(*args, **kwargs):
				calls.append(args[0] if args else "")
				return original(*args, **kwargs)

			frappe.db.sql = counting
			try:
				board = api.get_board(str(start), str(end))
			finally:
				frappe.db.sql = original
			return len(calls), board

		for hour in (8, 10):
			api.assign(make_job().name, tech.name, str(tomorrow_at(hour)))
		count_queries()  # a first call fills per-process caches (DocType metadata): not counted
		few, board = count_queries()
		for hour in (12, 14, 16):
			api.assign(make_job().name, tech.name, str(tomorrow_at(hour)))
		many, board = count_queries()
		self.assertEqual(few, many)
		self.assertGreaterEqual(len([j for j in board["jobs"] if j["technician"] == tech.name]), 5)
		self.assertTrue(next(t for t in board["technicians"] if t["name"] == tech.name)["shifts"])


class TestPlans(IntegrationTestCase):
	def test_publish_is_all_or_nothing_and_invisible_before(self):
		user = make_user(["Technician"])
		tech = make_technician(user=user.name)
		other = make_technician()
		a, b = make_job(), make_job()
		plan = frappe.get_doc(
			{
				"doctype": "Dispatch Plan",
				"title": unique("Plan"),
				"period_start": tomorrow_at(0),
				"period_end": tomorrow_at(23),
				"items": [
					{"job": a.name, "technician": tech.name, "start": tomorrow_at(9)},
					{"job": b.name, "technician": tech.name, "start": tomorrow_at(9, 30)},  # overlaps a
				],
			}
		).insert()
		frappe.set_user(user.name)
		try:
			self.assertEqual(frappe.get_list("Dispatch Job", filters={"name": ["in", [a.name, b.name]]}), [])
		finally:
			frappe.set_user("Administrator")
		with self.assertRaises(ConflictError):
			api.publish_plan(plan.name)
		self.assertIsNone(frappe.db.get_value("Dispatch Job", a.name, "technician"))  # nothing applied
		self.assertFalse(frappe.db.exists("Dispatch Notification", {"technician": tech.name}))
		plan.reload()
		plan.items[1].technician = other.name
		plan.save()
		result = api.publish_plan(plan.name)
		self.assertEqual(sorted(result["technicians_notified"]), sorted([tech.name, other.name]))
		self.assertEqual(
			frappe.db.get_value("Dispatch Job", a.name, ["technician", "status"]), (tech.name, "Assigned")
		)
		self.assertEqual(
			frappe.db.count("Dispatch Notification", {"technician": tech.name, "kind": "Plan"}), 1
		)
		plan.reload()
		self.assertEqual((plan.status, plan.published_by), ("Published", "Administrator"))
		self.assertEqual(len(json.loads(plan.publish_log)), 2)
		frappe.set_user(user.name)
		try:
			self.assertEqual(
				frappe.get_list("Dispatch Job", filters={"name": ["in", [a.name, b.name]]}, pluck="name"),
				[a.name],
			)
		finally:
			frappe.set_user("Administrator")


class TestOffers(IntegrationTestCase):
	def test_fifty_concurrent_claims_have_one_winner(self):
		techs = [make_technician() for _ in range(50)]
		job = make_job()
		offers = api.offer_job(job.name, "Targeted", [t.name for t in techs], 75.0)["offers"]
		self.assertEqual(len(offers), 50)
		self.assertEqual(frappe.db.get_value("Dispatch Job", job.name, "status"), "Offered")
		frappe.db.commit()
		site, wins, losses, errors = frappe.local.site, [], [], []
		barrier = threading.Barrier(50)

		def claim(tech, offer):
			try:
				frappe.init(site=site)
				frappe.connect()
				barrier.wait(30)
				try:
					offer_pool.accept_offer(offer, tech)
					frappe.db.commit()
					wins.append(tech)
				except ConflictError:
					frappe.db.rollback()
					losses.append(tech)
			except Exception as e:
				errors.append(repr(e))
			finally:
				frappe.destroy()

		threads = [
			threading.Thread(target=claim, args=(t.name, o)) for t, o in zip(techs, offers, strict=True)
		]
		for t in threads:
			t.start()
		for t in threads:
			t.join(120)
		self.assertEqual(errors, [])
		self.assertEqual(len(wins), 1)
		self.assertEqual(len(losses), 49)
		self.assertEqual(frappe.db.get_value("Dispatch Job", job.name, "technician"), wins[0])
		self.assertEqual(frappe.db.count("Dispatch Offer", {"job": job.name, "status": "Accepted"}), 1)

	def test_decline_needs_a_reason_and_expiry_returns_the_job(self):
		tech = make_technician()
		job = make_job()
		(offer,) = api.offer_job(job.name, "Targeted", [tech.name])["offers"]
		with self.assertRaises(frappe.ValidationError):
			offer_pool.decline_offer(offer, tech.name, " ")
		offer_pool.decline_offer(offer, tech.name, "Trop loin")
		self.assertEqual(
			frappe.db.get_value("Dispatch Offer", offer, ["status", "decline_reason"]),
			("Declined", "Trop loin"),
		)
		self.assertEqual(frappe.db.get_value("Dispatch Job", job.name, "status"), "Draft")
		(offer,) = api.offer_job(job.name, "Targeted", [tech.name])["offers"]
		offer_pool.expire_offers(now_datetime() + timedelta(days=1))
		self.assertEqual(frappe.db.get_value("Dispatch Offer", offer, "status"), "Expired")
		self.assertEqual(frappe.db.get_value("Dispatch Job", job.name, "status"), "Draft")


class TestTechnicianLinks(IntegrationTestCase):
	def test_link_is_scoped_expiring_and_revocable(self):
		from gigafibre_fsm.core import tokens

		tech = make_technician()
		token = links.issue(tech.name)
		self.assertEqual(links.verify(token), tech.name)
		links.revoke(tech.name)
		with self.assertRaises(tokens.TokenRevoked):
			links.verify(token)
		from gigafibre_fsm.settings import get_settings

		expired = tokens.issue(
			get_settings().token_secret, subject=tech.name, scope="technician", now=0, ttl=60, version=1
		)
		with self.assertRaises(tokens.TokenExpired):
			links.verify(expired)
		other_scope = tokens.issue(
			get_settings().token_secret,
			subject=tech.name,
			scope="contract",
			now=now_datetime().timestamp(),
			ttl=60,
			version=1,
		)
		with self.assertRaises(tokens.TokenWrongScope):
			links.verify(other_scope)
