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
from gigafibre_fsm.legacy import bulk, generate, journal, money, purge, workforce
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

		for e in entries:  # one GL row per line, no Payment Ledger row (no receivable or payable)
			lines = frappe.db.count("Journal Entry Account", {"parent": e.name})
			self.assertEqual(frappe.db.count("GL Entry", {"voucher_no": e.name, "is_cancelled": 0}), lines)
			self.assertFalse(frappe.db.count("Payment Ledger Entry", {"voucher_no": e.name}))

	def add_pieces(self) -> list[str]:
		"""Pieces the generator does not write: three lines (two accounts debited, which the credit
		line's against_account joins), and one account debited twice."""
		self.legacy("DELETE FROM ecritures WHERE piece LIKE 'JVTEST%%'")
		self.legacy(
			"INSERT INTO ecritures (piece, date, compte_id, debit, credit, libelle) VALUES "
			"('JVTEST-3', '2021-05-04', 6, 12.34, 0, 'Écriture à trois lignes'), "
			"('JVTEST-3', '2021-05-04', 7, 7.66, 0, 'Écriture à trois lignes'), "
			"('JVTEST-3', '2021-05-04', 2, 0, 20.00, 'Écriture à trois lignes'), "
			"('JVTEST-2X', '2022-11-30', 6, 5.00, 0, NULL), "
			"('JVTEST-2X', '2022-11-30', 6, 3.00, 0, NULL), "
			"('JVTEST-2X', '2022-11-30', 8, 0, 8.00, NULL)"
		)
		return ["JVTEST-3", "JVTEST-2X"]

	def orm_entry(self, piece: str):
		"""The piece through the ORM, as the journal step wrote every piece before its recipes."""
		imp = Importer(self.source, only="journal", progress=False)
		money.ensure_setup(imp)
		conn = legacy_source.connect(self.source)
		try:
			accounts = journal.account_map(conn, imp.ctx.company)
			rows = journal._piece_lines(conn, [piece])[piece]
		finally:
			conn.close()
		return journal.journal_entry_orm(
			imp, journal.piece_entry(imp, piece, rows, accounts), imp.ctx.cost_center
		)

	def test_recipe_journal_entries_are_the_orm_ones(self):
		"""A piece written from the recipes and the same piece through the ORM: the Journal Entry,
		its account rows and its GL rows equal column by column (but for names and timestamps)."""
		purge.purge()
		frappe.db.commit()
		added = self.add_pieces()
		try:
			run = Importer(self.source, only="journal", progress=False).run()
			report = json.loads(frappe.db.get_value("Legacy Import Run", run, "report"))
			merged = frappe.db.get_single_value("Accounts Settings", "merge_similar_account_heads")
			self.assertEqual(report.get("journal_entries_through_the_orm", 0), 1 if merged else 0)
			generated = frappe.get_all(
				"Journal Entry",
				filters={"legacy_piece": ["like", "JV0%"]},
				pluck="legacy_piece",
				order_by="legacy_piece",
				limit=1,
			)
			differences = {}
			for piece in generated + added:
				name = frappe.db.get_value("Journal Entry", {"legacy_piece": piece})
				ours = journal_rows(name)
				purge._delete("Journal Entry", [name])
				theirs = journal_rows(self.orm_entry(piece).name)
				self.assertEqual(len(ours["lines"]), len(theirs["lines"]), piece)
				self.assertEqual(len(ours["gl"]), len(theirs["gl"]), piece)
				self.assertEqual((ours["ple"], theirs["ple"]), (0, 0), piece)
				if piece == "JVTEST-3":  # the credit line is against both accounts debited
					self.assertEqual(ours["lines"][2].against_account.count(", "), 1)
				pairs = [("Journal Entry", ours["head"], theirs["head"])]
				pairs += [
					("Journal Entry Account", a, b)
					for a, b in zip(ours["lines"], theirs["lines"], strict=False)
				]
				pairs += [("GL Entry", a, b) for a, b in zip(ours["gl"], theirs["gl"], strict=False)]
				for label, a, b in pairs:
					for column in set(a) | set(b):
						if column not in ("name", "parent", "voucher_no", "creation", "modified"):
							if journal.comparable(a.get(column)) != journal.comparable(b.get(column)):
								differences[f"{piece} {label}.{column}"] = (a.get(column), b.get(column))
			self.assertEqual(differences, {})
			frappe.db.commit()
		finally:
			self.legacy("DELETE FROM ecritures WHERE piece LIKE 'JVTEST%%'")

	def test_pieces_the_recipes_do_not_describe_go_through_the_orm(self):
		"""When ERPNext merges the GL rows of one account (Accounts Settings), a piece naming an
		account twice is written through the ORM: one GL row for the two lines."""
		purge.purge()
		frappe.db.commit()
		before = frappe.db.get_single_value("Accounts Settings", "merge_similar_account_heads")
		self.add_pieces()
		try:
			frappe.db.set_single_value("Accounts Settings", "merge_similar_account_heads", 1)
			frappe.db.commit()
			run = Importer(self.source, only="journal", progress=False).run()
			report = json.loads(frappe.db.get_value("Legacy Import Run", run, "report"))
			self.assertEqual(report["journal_entries_through_the_orm"], 1)
			name = frappe.db.get_value("Journal Entry", {"legacy_piece": "JVTEST-2X"})
			self.assertEqual(frappe.db.count("Journal Entry Account", {"parent": name}), 3)
			self.assertEqual(frappe.db.count("GL Entry", {"voucher_no": name}), 2)
			three = frappe.db.get_value("Journal Entry", {"legacy_piece": "JVTEST-3"})
			self.assertEqual(frappe.db.count("GL Entry", {"voucher_no": three}), 3)
		finally:
			frappe.db.set_single_value("Accounts Settings", "merge_similar_account_heads", before)
			frappe.db.commit()
			self.legacy("DELETE FROM ecritures WHERE piece LIKE 'JVTEST%%'")


def journal_rows(name: str) -> dict:
	"""A Journal Entry's rows: its own, its account rows by idx, its GL rows by account and amount."""
	gl = frappe.get_all(
		"GL Entry", filters={"voucher_type": "Journal Entry", "voucher_no": name}, fields=["*"]
	)
	return {
		"head": frappe.db.get_value("Journal Entry", name, "*", as_dict=True),
		"lines": frappe.get_all(
			"Journal Entry Account", filters={"parent": name}, fields=["*"], order_by="idx asc"
		),
		"gl": sorted(gl, key=lambda r: (r.account, float(r.debit), float(r.credit))),
		"ple": frappe.db.count("Payment Ledger Entry", {"voucher_no": name}),
	}


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
