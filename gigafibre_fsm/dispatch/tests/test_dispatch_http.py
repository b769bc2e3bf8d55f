"""The dispatch API as the Ops app uses it: real users with their own API keys, over
HTTP, against the site served by gunicorn with 4 workers (``serve_gunicorn``).

The users hold only the roles README documents for each method (a technician holds
only Technician, linked to an active Technician). What the server must see is
committed first; names are unique, so the committed rows do not disturb other tests.
"""

import threading
import time
from datetime import datetime
from datetime import time as dtime

import frappe
from frappe.utils import add_days, getdate

from gigafibre_fsm.dispatch.doctype.dispatch_job import dispatch_job
from gigafibre_fsm.dispatch.doctype.dispatch_offer import dispatch_offer
from gigafibre_fsm.test_utils import make_job, make_technician, make_user
from gigafibre_fsm.testing import IntegrationTestCase
from gigafibre_fsm.testing_http import GunicornTestCase

API = "gigafibre_fsm.api.dispatch"


def tomorrow_at(hour: int) -> datetime:
	return datetime.combine(add_days(getdate(), 1), dtime(hour, 0))


def technician_user():
	"""A user whose only app role is Technician, linked to an active Technician."""
	user = make_user(["Technician"])
	return user.name, make_technician(user=user.name)


def offer_to(job: str, technicians: list[str]) -> list[str]:
	from gigafibre_fsm.dispatch import offer_pool

	return offer_pool.offer_job(job, "Targeted", technicians)["offers"]


class TestTechnicianOverHttp(GunicornTestCase):
	def test_accept_then_move_the_job_through_every_status(self):
		user, tech = technician_user()
		job = make_job(scheduled_start=tomorrow_at(9))
		(offer,) = offer_to(job.name, [tech.name])
		me = self.client(user)
		frappe.db.commit()

		status, body = me.call(f"{API}.accept_offer", offer=offer)
		self.assertEqual(status, 200, body)
		self.assertEqual((body["message"]["technician"], body["message"]["status"]), (tech.name, "Assigned"))
		for target in ("En Route", "On Site", "Completed"):
			status, body = me.call(f"{API}.set_status", job=job.name, status=target)
			self.assertEqual(status, 200, body)
			self.assertEqual(body["message"]["status"], target)

		frappe.db.rollback()  # a fresh snapshot of what the server committed
		done = frappe.get_doc("Dispatch Job", job.name)
		self.assertEqual((done.status, done.technician), ("Completed", tech.name))
		self.assertTrue(done.actual_start and done.actual_end)
		# Who did it: the technician's user, not Administrator, on the job and its timeline.
		self.assertEqual(done.modified_by, user)
		authors = set(
			frappe.get_all(
				"Version", filters={"ref_doctype": "Dispatch Job", "docname": job.name}, pluck="owner"
			)
		)
		self.assertIn(user, authors)
		self.assertEqual(frappe.db.get_value("Dispatch Offer", offer, "status"), "Accepted")

	def test_claim_an_offered_job(self):
		user, tech = technician_user()
		job = make_job()
		offer_to(job.name, [tech.name])
		me = self.client(user)
		frappe.db.commit()
		status, body = me.call(f"{API}.claim_job", job=job.name)
		self.assertEqual(status, 200, body)
		self.assertEqual(body["message"]["technician"], tech.name)

	def test_a_technician_is_refused_what_is_not_theirs(self):
		user, tech = technician_user()
		_, other = technician_user()
		theirs = make_job(technician=other.name, status="Assigned", scheduled_start=tomorrow_at(10))
		not_offered = make_job()
		offered_to_other = make_job()
		(other_offer,) = offer_to(offered_to_other.name, [other.name])
		me = self.client(user)
		frappe.db.commit()

		for method, args in (
			("set_status", {"job": theirs.name, "status": "En Route"}),
			("claim_job", {"job": not_offered.name}),
			("claim_job", {"job": offered_to_other.name}),
			("accept_offer", {"offer": other_offer}),
			("decline_offer", {"offer": other_offer, "reason": "Pas à moi"}),
			("assign", {"job": not_offered.name, "technician": tech.name, "start": str(tomorrow_at(9))}),
		):
			status, body = me.call(f"{API}.{method}", **args)
			self.assertEqual(status, 403, (method, body))
		# Nor can they read another technician's job or offer through the REST API.
		for doctype, name in (("Dispatch Job", theirs.name), ("Dispatch Offer", other_offer)):
			r = me.session.get(f"{self.base}/api/resource/{doctype}/{name}", timeout=300)
			self.assertEqual(r.status_code, 403, (doctype, r.text[:300]))
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Dispatch Job", theirs.name, "status"), "Assigned")
		self.assertEqual(frappe.db.get_value("Dispatch Offer", other_offer, "status"), "Open")

	def test_thirty_technicians_claim_one_job_at_once(self):
		people = [technician_user() for _ in range(30)]
		job = make_job()
		offers = offer_to(job.name, [t.name for _, t in people])
		clients = [self.client(user) for user, _ in people]
		frappe.db.commit()
		for c in clients:  # each client's connection is open before the race starts
			self.assertEqual(c.session.get(f"{self.base}/api/method/ping", timeout=300).status_code, 200)

		barrier = threading.Barrier(len(clients))
		answers: list[tuple[int, dict, str]] = []

		def claim(client, tech):
			barrier.wait(120)
			status, body = client.call(f"{API}.claim_job", job=job.name)
			answers.append((status, body, tech))

		threads = [
			threading.Thread(target=claim, args=(c, t.name))
			for c, (_, t) in zip(clients, people, strict=True)
		]
		started = time.monotonic()
		for t in threads:
			t.start()
		for t in threads:
			t.join(600)
		elapsed = time.monotonic() - started

		statuses = sorted(s for s, _, _ in answers)
		winners = [tech for s, _, tech in answers if s == 200]
		print(
			f"\nrace over HTTP (gunicorn, 4 workers, {frappe.db.db_type}): {len(answers)} claims, "
			f"{len(winners)} winner, {statuses.count(409)} refused with 409, "
			f"{sum(s >= 500 for s in statuses)} 5xx, {elapsed:.2f} s"
		)
		self.assertEqual(len(answers), 30)
		self.assertEqual([s for s in statuses if s >= 500], [])
		self.assertEqual(len(winners), 1, statuses)
		self.assertEqual(statuses.count(409), 29, statuses)
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("Dispatch Job", job.name, ["technician", "status"]), (winners[0], "Assigned")
		)
		by_status = {}
		for row in frappe.get_all("Dispatch Offer", filters={"name": ["in", offers]}, fields=["status"]):
			by_status[row.status] = by_status.get(row.status, 0) + 1
		self.assertEqual(by_status, {"Accepted": 1, "Withdrawn": 29})


class TestPlannersOverHttp(GunicornTestCase):
	def test_a_dispatcher_opens_assigns_and_moves_jobs(self):
		"""Frappe v16 refuses a document when a permission hook answers None: a dispatcher
		(no System Manager) must still open and change every job."""
		dispatcher = make_user(["Dispatcher"])
		tech = make_technician()
		job = make_job()
		me = self.client(dispatcher.name)
		frappe.db.commit()
		r = me.session.get(f"{self.base}/api/resource/Dispatch Job/{job.name}", timeout=300)
		self.assertEqual(r.status_code, 200, r.text[:300])
		status, body = me.call(f"{API}.assign", job=job.name, technician=tech.name, start=str(tomorrow_at(9)))
		self.assertEqual(status, 200, body)
		status, body = me.call(f"{API}.set_status", job=job.name, status="En Route")
		self.assertEqual(status, 200, body)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Dispatch Job", job.name, "modified_by"), dispatcher.name)


def v15_allows(hook, doc, user) -> bool:
	"""Frappe v15: the first answer that is not None decides; None alone means no objection."""
	answer = hook(doc=doc, ptype="read", user=user)
	return True if answer is None else bool(answer)


def v16_allows(hook, doc, user) -> bool:
	"""Frappe v16 (frappe/frappe#24253): any falsy answer, None included, refuses."""
	return bool(hook(doc=doc, ptype="read", user=user))


class TestPermissionHooks(IntegrationTestCase):
	def test_hooks_answer_booleans_that_hold_under_both_semantics(self):
		tech_user, tech = technician_user()
		_, other = technician_user()
		job = make_job(technician=tech.name, status="Assigned")
		others_job = make_job(technician=other.name, status="Assigned")
		(offer,) = offer_to(make_job().name, [tech.name])
		(others_offer,) = offer_to(make_job().name, [other.name])
		planners = [
			make_user([role]).name
			for role in ("Dispatcher", "Customer Service", "Network Operator", "FSM Manager")
		]
		planners += [
			make_user(["System Manager"]).name,
			make_user(["Technician", "Dispatcher"]).name,
			"Administrator",
		]
		cases = [
			(dispatch_job.has_permission, job, tech_user, True),
			(dispatch_job.has_permission, others_job, tech_user, False),
			(dispatch_offer.has_permission, frappe.get_doc("Dispatch Offer", offer), tech_user, True),
			(dispatch_offer.has_permission, frappe.get_doc("Dispatch Offer", others_offer), tech_user, False),
		]
		for user in planners:
			cases += [
				(dispatch_job.has_permission, others_job, user, True),
				(dispatch_offer.has_permission, frappe.get_doc("Dispatch Offer", others_offer), user, True),
			]
		for hook, doc, user, expected in cases:
			answer = hook(doc=doc, ptype="read", user=user)
			self.assertIsInstance(answer, bool, (hook.__module__, user))
			self.assertEqual(v15_allows(hook, doc, user), expected, (doc.name, user))
			self.assertEqual(v16_allows(hook, doc, user), expected, (doc.name, user))
		# And through Frappe itself, on this version.
		self.assertTrue(frappe.has_permission("Dispatch Job", "write", others_job, user=planners[0]))
		self.assertFalse(frappe.has_permission("Dispatch Job", "read", others_job, user=tech_user))
		self.assertTrue(frappe.has_permission("Dispatch Job", "read", job, user=tech_user))
		self.assertFalse(
			frappe.has_permission("Dispatch Job", "write", job, user=tech_user)
		)  # the desk: read only
