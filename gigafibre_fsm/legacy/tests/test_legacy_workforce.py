"""Staff, work orders and the manual journal pieces from a small generated legacy database
(MariaDB source), on MariaDB and PostgreSQL sites: these steps write no Sales Invoice or Payment
Entry, so they run where the invoice and payment steps are skipped (test_legacy_import).

The import commits batch by batch, so the class removes what it imported at the start and the end
(legacy.purge).
"""

from __future__ import annotations

import json
import os
from collections import Counter

import frappe

from gigafibre_fsm.connectors import legacy_source
from gigafibre_fsm.legacy import bulk, generate, journal, purge, workforce
from gigafibre_fsm.legacy.importer import Importer, ImportInterrupted
from gigafibre_fsm.testing import IntegrationTestCase

HOST = os.environ.get("GIGAFIBRE_TEST_MARIADB_HOST", "127.0.0.1")
SCALE = 0.0006  # 9 accounts, 3 staff (2 technicians), 18 work orders: every planted problem once
STEPS = "customers,locations,staff,tickets,work_orders"
DOCTYPES = {
	"Employee": "legacy_staff_id",
	"Technician": "legacy_staff_id",
	"Dispatch Job": "legacy_work_order_id",
	"Issue": "legacy_ticket_id",
}


def snapshot() -> dict:
	return {dt: frappe.db.count(dt, {field: ["is", "set"]}) for dt, field in DOCTYPES.items()}


class TestLegacyWorkforce(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.database = f"gf_legacy_wf_{os.getpid()}"
		cls.source = f"mysql://root@{HOST}:3306/{cls.database}"
		conn = generate.connect(HOST)
		generate.create_database(conn, cls.database)
		cls.generated = generate.generate(conn, seed=5, scale=SCALE)
		conn.close()
		purge.purge()
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		purge.purge()
		frappe.db.commit()
		conn = generate.connect(HOST)
		with conn.cursor() as cur:
			cur.execute(f"DROP DATABASE IF EXISTS `{cls.database}`")
		conn.close()
		super().tearDownClass()

	def import_(self, **kw):
		return Importer(self.source, only=STEPS, progress=False, **kw).run()

	def legacy(self, sql: str, params: tuple = ()) -> list[tuple]:
		conn = legacy_source.connect(self.source)
		try:
			with conn.cursor() as cur:
				cur.execute(sql, params)
				return list(cur.fetchall())
		finally:
			conn.close()

	def checks(self) -> dict:
		conn = legacy_source.connect(self.source)
		try:
			return workforce.checks(conn, frappe.utils.getdate())
		finally:
			conn.close()

	def test_staff_and_work_orders(self):
		purge.purge()
		frappe.db.commit()
		users = frappe.db.count("User")
		planted = self.generated["planted"]
		run = self.import_()
		self.assertEqual(frappe.db.get_value("Legacy Import Run", run, "status"), "Completed")
		first = snapshot()
		staff = self.legacy("SELECT id, is_user, active FROM staff")
		orders = self.legacy("SELECT id, staff_id, status FROM bon_travail")
		named = {r[1] for r in orders} & {r[0] for r in staff}
		self.assertEqual(first["Employee"], len(staff))
		self.assertEqual(first["Technician"], len(named))
		self.assertLess(first["Technician"], first["Employee"])  # not every staff member is one
		self.assertEqual(first["Dispatch Job"], len(orders))

		# no login made, no password read; the PHP logins are reported
		self.assertEqual(frappe.db.count("User"), users)
		self.assertFalse(
			frappe.db.exists("Employee", {"legacy_staff_id": ["is", "set"], "user_id": ["is", "set"]})
		)
		report = json.loads(frappe.db.get_value("Legacy Import Run", run, "report"))
		self.assertEqual(report["staff_logins_not_imported"], sum(1 for r in staff if r[1]))
		employees = frappe.get_all(
			"Employee",
			filters={"legacy_staff_id": ["is", "set"]},
			fields=["name", "employee_name", "status", "legacy_staff_id", "lft", "rgt"],
		)
		for e in employees:
			self.assertRegex(e.name, r"^HR-EMP-\d{5}$")  # the names the ORM gives
			self.assertNotIn("Ã", e.employee_name)
			self.assertGreater(e.rgt, e.lft)  # the tree rebuilt
		inactive = {str(r[0]) for r in staff if not r[2]}
		self.assertEqual({e.legacy_staff_id for e in employees if e.status == "Inactive"}, inactive)
		for t in frappe.get_all("Technician", filters={"legacy_staff_id": ["is", "set"]}, fields=["*"]):
			self.assertEqual(
				frappe.db.get_value("Employee", t.employee, "legacy_staff_id"), t.legacy_staff_id
			)

		# work orders: history closed and processed, the planted problems as the mapping says
		jobs = {
			int(j.legacy_work_order_id): j
			for j in frappe.get_all(
				"Dispatch Job", filters={"legacy_work_order_id": ["is", "set"]}, fields=["*"]
			)
		}
		for wid, staff_id, code in orders:
			job = jobs[wid]
			self.assertRegex(job.name, r"^DJ-\d{5,}$")
			self.assertEqual(bool(job.technician), staff_id in named, wid)
			if code in (1, 2):
				self.assertEqual(job.status, {1: "Completed", 2: "Cancelled"}[code])
				self.assertEqual(job.completion_processed, 1)
			else:
				self.assertIn(job.status, ("Assigned", "Draft"))
				self.assertEqual(job.completion_processed, 0)
			self.assertIsNotNone(job.customer)
		found = report["work_orders"]
		self.assertEqual(
			found.get("no technician", 0) + found.get("unknown technician", 0),
			planted["work_orders_no_technician"],
		)
		self.assertEqual(found["completed without a date"], planted["work_orders_zero_done"])
		self.assertGreaterEqual(found["left open after its day: Draft"], planted["work_orders_stale_open"])
		self.assertTrue(any(j.issue for j in jobs.values()), "no repair order linked to its ticket")
		for issue in frappe.get_all("Issue", filters={"legacy_ticket_id": ["is", "set"]}, pluck="name"):
			self.assertRegex(issue, r"^ISS-\d{4}-\d{5,}$")  # as the ORM names them (more digits past 99,999)
		self.assertFalse([j for j in jobs.values() if j.notes and "Ã" in j.notes], "mojibake left")
		result = self.checks()
		self.assertFalse(result["staff"]["differences"] + result["work_orders"]["differences"], result)

		# a second run writes nothing
		second = self.import_()
		self.assertEqual(frappe.db.get_value("Legacy Import Run", second, "rows_written"), 0)
		self.assertEqual(snapshot(), first)

		# a new work order naming a staff member who was no technician: the Technician comes now
		plain = min(r[0] for r in staff if r[0] not in named)
		self.legacy(
			"INSERT INTO bon_travail (account_id, delivery_id, type, status, date_planned, staff_id, note) "
			"VALUES (1, NULL, 'entretien', 1, '2026-05-02', %s, 'Ajouté')",
			(plain,),
		)
		self.import_()
		self.assertEqual(snapshot()["Dispatch Job"], first["Dispatch Job"] + 1)
		technician = frappe.db.get_value("Technician", {"legacy_staff_id": str(plain)}, ["name", "employee"])
		self.assertIsNotNone(technician)
		new_job = frappe.get_all(
			"Dispatch Job",
			filters={"notes": "Ajouté"},
			fields=["technician", "status", "legacy_work_order_id"],
		)
		self.assertEqual([(j.technician, j.status) for j in new_job], [(technician[0], "Completed")])
		self.assertFalse(self.checks()["work_orders"]["differences"])
		self.legacy("DELETE FROM bon_travail WHERE note = 'Ajouté'")

	def test_interrupted_run_resumes_without_duplicates(self):
		purge.purge()
		frappe.db.commit()
		only = "customers,locations,staff,work_orders"
		with self.assertRaises(ImportInterrupted):  # 3 + 3 + 1 batches before the work orders
			Importer(self.source, only=only, progress=False, batch_size=4, fail_after_batches=9).run()
		partial = snapshot()["Dispatch Job"]
		self.assertTrue(0 < partial < len(self.legacy("SELECT id FROM bon_travail")), partial)
		Importer(self.source, only=only, progress=False, batch_size=4).run()
		for doctype, field in list(DOCTYPES.items())[:3]:
			ids = Counter(frappe.get_all(doctype, filters={field: ["is", "set"]}, pluck=field, limit=0))
			self.assertTrue(ids, doctype)
			self.assertFalse([i for i, n in ids.items() if n > 1], doctype)
		self.assertEqual(snapshot()["Dispatch Job"], len(self.legacy("SELECT id FROM bon_travail")))
		result = self.checks()
		self.assertFalse(result["staff"]["differences"] + result["work_orders"]["differences"], result)

	def test_manual_pieces_become_journal_entries(self):
		purge.purge()
		frappe.db.commit()
		run = Importer(self.source, only="journal", progress=False).run()
		pieces = self.legacy(
			"SELECT piece, SUM(debit) - SUM(credit) FROM ecritures WHERE invoice_id IS NULL AND payment_id IS NULL "
			"GROUP BY piece"
		)
		balanced = {p for p, net in pieces if not net}
		self.assertTrue(balanced and len(balanced) < len(pieces))  # the planted unbalanced piece
		entries = frappe.get_all(
			"Journal Entry",
			filters={"legacy_piece": ["is", "set"]},
			fields=["name", "legacy_piece", "docstatus", "total_debit", "total_credit"],
		)
		self.assertEqual({e.legacy_piece for e in entries}, balanced)
		for e in entries:
			self.assertEqual((e.docstatus, e.total_debit), (1, e.total_credit))
		report = json.loads(frappe.db.get_value("Legacy Import Run", run, "report"))
		self.assertEqual(
			report["journal_pieces_not_imported"]["unbalanced"]["count"], len(pieces) - len(balanced)
		)
		conn = legacy_source.connect(self.source)
		try:
			result = journal.checks(
				conn,
				legacy_source.money_facts(conn, frappe.utils.getdate()),
				{},
				entries_company(entries),
				frappe.utils.getdate(),
				{},
			)
		finally:
			conn.close()
		self.assertFalse(result["journal"]["differences"], result["journal"])
		again = Importer(self.source, only="journal", progress=False).run()
		self.assertEqual(frappe.db.get_value("Legacy Import Run", again, "rows_written"), 0)
		self.assertEqual(frappe.db.count("Journal Entry", {"legacy_piece": ["is", "set"]}), len(entries))


def entries_company(entries) -> str:
	return frappe.db.get_value("Journal Entry", entries[0].name, "company")


class TestBulkNames(IntegrationTestCase):
	def test_a_taken_hash_name_is_drawn_again(self):
		"""A child row whose random name is already taken is written under a new one, as the ORM's
		db_insert does (among millions of GL and child rows, 10 hex characters do collide)."""
		taken = frappe.generate_hash(length=10)
		row = {**bulk.template_row("Dynamic Link", link_doctype="Customer"), "name": taken,
			"parent": "LEGACY-BULK-TEST", "parenttype": "Contact", "parentfield": "links", "link_name": "x"}  # fmt: skip
		bulk.insert_rows("Dynamic Link", [{**row, "idx": 1}])
		bulk.insert_rows(
			"Dynamic Link", [{**row, "idx": 2}, {**row, "idx": 3, "name": frappe.generate_hash(length=10)}]
		)
		names = frappe.get_all("Dynamic Link", filters={"parent": "LEGACY-BULK-TEST"}, pluck="name")
		self.assertEqual(len(names), 3)
		self.assertIn(taken, names)
		# a document named by a series is not renamed: its duplicate is an error
		with self.assertRaises(Exception) as caught:
			bulk.insert_rows(
				"Legacy Import Run", [{**bulk.template_row("Legacy Import Run"), "name": "LEGACY-DUP"}] * 2
			)
		self.assertTrue(frappe.db.is_primary_key_violation(caught.exception))
		frappe.db.rollback()
