"""The legacy import's bulk writes on the real database (MariaDB: INSERT text; PostgreSQL: COPY)
and its background writer (legacy.writer): tricky values come back as they went in, a failed
background batch puts its checkpoint back."""

from __future__ import annotations

import datetime as dt
import json

import frappe

from gigafibre_fsm.legacy import bulk
from gigafibre_fsm.legacy.writer import Writer
from gigafibre_fsm.testing import IntegrationTestCase

RUN = "Legacy Import Run"
TRICKY = [
	"plain",
	"l'été d'Éric \"cité\"",
	"back\\slash \\n not a newline \\",
	"lines\nand\r\nreturns\tand tabs",
	"100 % sure, %s %(x)s {name}",
	"émoji 🚀 中文 Ω ctrl-z \x1a",
	"\\'; DROP TABLE x; --",
	"",
]


class TestLegacyBulk(IntegrationTestCase):
	def tearDown(self):
		frappe.db.rollback()
		frappe.db.delete(RUN, {"name": ["like", "LEGACY-BULK-%"]})
		frappe.db.commit()

	def _row(self, name: str, text, when, count):
		return {**bulk.template_row(RUN), "name": name, "source": "bulk test", "checkpoints": text,
			"started_at": when, "rows_written": count, "status": "Running"}  # fmt: skip

	def test_tricky_values_round_trip(self):
		when = dt.datetime(2019, 3, 7, 10, 0, 5)
		rows = [self._row(f"LEGACY-BULK-{i}", text, when, i) for i, text in enumerate(TRICKY)]
		rows.append(self._row("LEGACY-BULK-NULL", None, None, 0))
		self.assertEqual(bulk.insert_rows(RUN, rows), len(rows))
		for i, text in enumerate(TRICKY):
			got = frappe.db.get_value(RUN, f"LEGACY-BULK-{i}", ["checkpoints", "started_at", "rows_written"])
			self.assertEqual(got[0], text)
			self.assertEqual(frappe.utils.get_datetime(got[1]), when)
			self.assertEqual(int(got[2]), i)
		self.assertEqual(
			frappe.db.get_value(RUN, "LEGACY-BULK-NULL", ["checkpoints", "started_at"]), (None, None)
		)
		if frappe.db.db_type == "postgres":
			with self.assertRaises(ValueError):  # PostgreSQL text cannot hold NUL
				bulk.insert_rows(RUN, [self._row("LEGACY-BULK-NUL", "a\0b", when, 1)])
		else:
			bulk.insert_rows(RUN, [self._row("LEGACY-BULK-NUL", "a\0b", when, 1)])
			self.assertEqual(frappe.db.get_value(RUN, "LEGACY-BULK-NUL", "checkpoints"), "a\0b")

	def test_the_writer_commits_a_batch_with_its_checkpoint(self):
		run = self._run("LEGACY-BULK-RUN")
		checkpoints = {"invoice": 10}
		writer = Writer(run, checkpoints)
		try:
			rows = [self._row("LEGACY-BULK-W1", "written", None, 1)]
			columns = list(rows[0])
			template = bulk.RowTemplate([None] * len(columns), copy=frappe.db.db_type == "postgres")
			writer.add(bulk.job(RUN, columns, template, [[r[c] for c in columns] for r in rows], None))
			checkpoints["invoice"] = 20
			writer.submit(json.dumps(checkpoints), "invoice", 10)
			writer.wait()
			frappe.db.commit()  # a new snapshot: the writer's transaction is committed
			self.assertEqual(frappe.db.get_value(RUN, "LEGACY-BULK-W1", "checkpoints"), "written")
			self.assertEqual(json.loads(frappe.db.get_value(RUN, run, "checkpoints")), {"invoice": 20})
			# a batch that fails (a name taken: not a hash-named table, so not drawn again) is undone
			# with its checkpoint, which goes back to where it was before the error is raised
			rows = [self._row("LEGACY-BULK-W2", "new", None, 1), self._row("LEGACY-BULK-W1", "dup", None, 1)]
			writer.add(bulk.job(RUN, columns, template, [[r[c] for c in columns] for r in rows], None))
			checkpoints["invoice"] = 30
			writer.submit(json.dumps(checkpoints), "invoice", 20)
			with self.assertRaises(Exception) as caught:
				writer.wait()
			self.assertTrue(frappe.db.is_primary_key_violation(caught.exception))
			self.assertEqual(checkpoints, {"invoice": 20})
			frappe.db.commit()
			self.assertFalse(frappe.db.exists(RUN, "LEGACY-BULK-W2"))
			self.assertEqual(json.loads(frappe.db.get_value(RUN, run, "checkpoints")), {"invoice": 20})
		finally:
			writer.close()

	def test_two_lanes_commit_in_order(self):
		"""Two batches in flight on two connections: they commit in the order handed over; when the
		first fails the second is rolled back too and the checkpoint goes back before the first.
		The hash names of each lane keep to their half (first hex digit 0-7, 8-f)."""
		run = self._run("LEGACY-BULK-LANES")
		checkpoints = {"invoice": 10}
		writer = Writer(run, checkpoints, lanes=2)
		copy = frappe.db.db_type == "postgres"
		link = {**bulk.template_row("Dynamic Link", link_doctype="Customer"), "parent": "LEGACY-BULK-LANES",
			"parenttype": "Contact", "parentfield": "links", "link_name": "x"}  # fmt: skip
		columns = list(link)
		template = bulk.RowTemplate([None] * len(columns), copy=copy)
		name_at = columns.index("name")

		def links(n, start):
			return [
				[{**link, "name": bulk.new_hash(), "idx": start + i}[c] for c in columns] for i in range(n)
			]

		try:
			writer.add(bulk.job("Dynamic Link", columns, template, links(300, 1), name_at))
			checkpoints["invoice"] = 20
			writer.submit(json.dumps(checkpoints), "invoice", 10)
			writer.add(bulk.job("Dynamic Link", columns, template, links(300, 301), name_at))
			checkpoints["invoice"] = 30
			writer.submit(json.dumps(checkpoints), "invoice", 20)
			writer.wait()
			frappe.db.commit()
			names = frappe.get_all(
				"Dynamic Link", filters={"parent": "LEGACY-BULK-LANES"}, fields=["name", "idx"]
			)
			self.assertEqual(len(names), 600)
			for row in names:
				self.assertIn(row.name[0], "01234567" if row.idx <= 300 else "89abcdef")
			self.assertEqual(json.loads(frappe.db.get_value(RUN, run, "checkpoints")), {"invoice": 30})
			# the first fails (a series-named row taken), the second is fine: neither is committed
			rows = [self._row("LEGACY-BULK-LANES", "dup", None, 1)]
			run_columns = list(rows[0])
			run_template = bulk.RowTemplate([None] * len(run_columns), copy=copy)
			writer.add(
				bulk.job(RUN, run_columns, run_template, [[r[c] for c in run_columns] for r in rows], None)
			)
			checkpoints["invoice"] = 40
			writer.submit(json.dumps(checkpoints), "invoice", 30)
			writer.add(bulk.job("Dynamic Link", columns, template, links(10, 601), name_at))
			checkpoints["invoice"] = 50
			writer.submit(json.dumps(checkpoints), "invoice", 40)
			with self.assertRaises(Exception) as caught:
				writer.wait()
			self.assertTrue(frappe.db.is_primary_key_violation(caught.exception))
			self.assertEqual(checkpoints, {"invoice": 30})
			frappe.db.commit()
			self.assertEqual(frappe.db.count("Dynamic Link", {"parent": "LEGACY-BULK-LANES"}), 600)
			self.assertEqual(json.loads(frappe.db.get_value(RUN, run, "checkpoints")), {"invoice": 30})
		finally:
			writer.close()
			frappe.db.delete("Dynamic Link", {"parent": "LEGACY-BULK-LANES"})
			frappe.db.commit()

	def _run(self, name: str) -> str:
		bulk.insert_rows(RUN, [self._row(name, json.dumps({"invoice": 10}), None, 0)])
		frappe.db.commit()
		return name
