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
			# the writer's own way: LOAD DATA LOCAL on MariaDB (when the server allows it), COPY on PostgreSQL
			template = bulk.RowTemplate([None] * len(columns), style=bulk.style_for(writer))
			if frappe.db.db_type == "mariadb":
				self.assertEqual(template.style, "load")
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
		The hash names of each lane start with the lane's own character (0, 1)."""
		run = self._run("LEGACY-BULK-LANES")
		checkpoints = {"invoice": 10}
		writer = Writer(run, checkpoints, lanes=2)
		link = {**bulk.template_row("Dynamic Link", link_doctype="Customer"), "parent": "LEGACY-BULK-LANES",
			"parenttype": "Contact", "parentfield": "links", "link_name": "x"}  # fmt: skip
		columns = list(link)
		template = bulk.RowTemplate([None] * len(columns), style=bulk.style_for(writer))
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
				self.assertEqual(row.name[0], "0" if row.idx <= 300 else "1")
			self.assertEqual(json.loads(frappe.db.get_value(RUN, run, "checkpoints")), {"invoice": 30})
			# the first fails (a series-named row taken), the second is fine: neither is committed
			rows = [self._row("LEGACY-BULK-LANES", "dup", None, 1)]
			run_columns = list(rows[0])
			run_template = bulk.RowTemplate([None] * len(run_columns), style=bulk.style_for(writer))
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

	def test_the_writer_round_trips_tricky_values_and_draws_taken_names_again(self):
		"""Through the writer's own statements (LOAD DATA LOCAL INFILE on MariaDB, COPY on
		PostgreSQL): tricky texts come back as they went; rows of a hash-named table whose names
		are already taken (one met in the table, as among millions of rows) are written under new
		names, none lost, none written twice; a NUL on PostgreSQL is refused."""
		run = self._run("LEGACY-BULK-TRICKY")
		checkpoints = {"invoice": 10}
		writer = Writer(run, checkpoints, lanes=2)
		parent = "LEGACY-BULK-TRICKY"
		link = {**bulk.template_row("Dynamic Link", link_doctype="Customer"), "parent": parent,
			"parenttype": "Contact", "parentfield": "links"}  # fmt: skip
		columns = list(link)
		name_at = columns.index("name")
		texts = [t for t in TRICKY if t] + (["a\0b"] if frappe.db.db_type == "mariadb" else [])
		try:
			# two names the batch will meet already taken (written first, in their lane's range)
			taken = [bulk.with_lead(bulk.new_hash(), "0") for _ in range(2)]
			bulk.insert_rows(
				"Dynamic Link", [{**link, "name": n, "idx": 0, "link_name": "first"} for n in taken]
			)
			frappe.db.commit()
			rows = [
				{**link, "name": bulk.new_hash(), "idx": i + 1, "link_name": t} for i, t in enumerate(texts)
			]
			rows[0]["name"], rows[1]["name"] = taken
			template = bulk.RowTemplate([None] * len(columns), style=bulk.style_for(writer))
			writer.add(
				bulk.job("Dynamic Link", columns, template, [[r[c] for c in columns] for r in rows], name_at)
			)
			checkpoints["invoice"] = 20
			writer.submit(json.dumps(checkpoints), "invoice", 10)
			writer.wait()
			frappe.db.commit()
			back = frappe.get_all(
				"Dynamic Link", filters={"parent": parent}, fields=["name", "idx", "link_name"]
			)
			self.assertEqual(len(back), len(texts) + 2)
			self.assertEqual(len({r.name for r in back}), len(back))
			mine = {int(r.idx): r for r in back if int(r.idx) > 0}
			self.assertEqual([mine[i + 1].link_name for i in range(len(texts))], texts)
			for i in (1, 2):
				self.assertNotIn(mine[i].name, taken)
			self.assertEqual(
				sorted(r.name for r in back if int(r.idx) == 0), sorted(taken)
			)  # the taken rows untouched
		finally:
			writer.close()
			frappe.db.delete("Dynamic Link", {"parent": parent})
			frappe.db.commit()

	def test_free_hash_names_skip_the_names_the_site_has(self):
		"""Names other rows of the batch refer to (a Communication's) are checked against the site
		before use: one it already has is drawn again."""
		from gigafibre_fsm.core.legacy.names import HashNames, time_part

		drawn = HashNames(lead="0", clock=lambda: 1_765_000_000.0)
		drawn._random = ["cccccc", "bbbbbb", "aaaaaa"]  # what the system's randomness gives, last first
		prefix = "0" + time_part(17_650_000_000)
		taken = prefix + "aaaaaa"
		comm = {**bulk.template_row("Communication", communication_type="Communication"), "name": taken,
			"subject": "LEGACY-BULK taken"}  # fmt: skip
		bulk.insert_rows("Communication", [comm])
		saved, bulk._names = bulk._names, drawn
		try:
			names = bulk.free_hash_names("Communication", 2)
		finally:
			bulk._names = saved
			frappe.db.delete("Communication", {"name": taken})
			frappe.db.commit()
		self.assertEqual(names, [prefix + "cccccc", prefix + "bbbbbb"])

	def test_hash_names_are_the_orms(self):
		"""The names the import draws have the format of the ORM's own (make_autoname("hash"): a
		trace character, the time in deciseconds, random base32hex), drawn in the same decisecond
		they carry the same time part."""
		import re
		import time

		from frappe.model.naming import make_autoname
		from frappe.monitor import get_trace_id

		from gigafibre_fsm.core.legacy.names import time_part

		before = int(time.time() * 10)
		orm = make_autoname("hash", "GL Entry")
		ours = bulk.new_hash()
		after = int(time.time() * 10)
		parts = {time_part(d) for d in range(before, after + 1)}
		lead = (get_trace_id() or "")[-1:]
		self.assertRegex(orm, r"^[0-9a-v]{10}$")
		self.assertRegex(ours, r"^[0-9a-v]{10}$")
		self.assertIn(orm[len(lead) : len(lead) + 3], parts)
		self.assertIn(ours[1:4], parts)
		drawn = bulk.hash_names(5000)
		self.assertEqual(len(set(drawn)), 5000)
		self.assertTrue(all(re.match(r"^0[0-9a-v]{9}$", n) for n in drawn))

	def test_a_later_batch_holding_a_lock_yields_to_the_earlier_one(self):
		"""MariaDB: the later batch (lane 1) writes a row that the earlier one (lane 0) then needs
		(here the same name, as a re-import after a purge meets the deleted rows' index records),
		and waits for the earlier one's commit. Without yielding, both would wait until the lock
		timeout; instead the later one rolls back, the earlier one commits, and the later one
		writes again, meeting the name the earlier one took: a duplicate, raised as such, its
		checkpoint put back."""
		if frappe.db.db_type != "mariadb":
			return
		run = self._run("LEGACY-BULK-YIELD")
		checkpoints = {"invoice": 10}
		writer = Writer(run, checkpoints, lanes=2)
		columns = list(self._row("x", None, None, 0))

		def job(*names):
			rows = [self._row(n, "yield", None, 0) for n in names]
			template = bulk.RowTemplate([None] * len(columns), style=bulk.style_for(writer))
			return bulk.job(RUN, columns, template, [[r[c] for c in columns] for r in rows], None)

		try:
			self.assertTrue(writer.patient)
			# the earlier batch is held back by a row this test writes and has not committed
			frappe.db.sql(
				f"INSERT INTO `tab{RUN}` (name, source, status) VALUES ('LEGACY-BULK-GATE', 'test', 'Running')"
			)
			writer.add(job("LEGACY-BULK-GATE"))
			writer.add(job("LEGACY-BULK-SHARED"))
			checkpoints["invoice"] = 20
			writer.submit(json.dumps(checkpoints), "invoice", 10)
			writer.add(job("LEGACY-BULK-SHARED", "LEGACY-BULK-LATER"))
			checkpoints["invoice"] = 30
			writer.submit(json.dumps(checkpoints), "invoice", 20)
			later = writer.in_flight[-1]
			self.assertTrue(later.written.wait(300))  # the later batch holds LEGACY-BULK-SHARED
			frappe.db.rollback()  # the earlier batch goes on, and needs LEGACY-BULK-SHARED
			with self.assertRaises(Exception) as caught:
				writer.wait()
			self.assertTrue(frappe.db.is_primary_key_violation(caught.exception), repr(caught.exception))
			self.assertGreaterEqual(writer.yields, 1)
			self.assertEqual(checkpoints, {"invoice": 20})
			frappe.db.commit()
			self.assertEqual(json.loads(frappe.db.get_value(RUN, run, "checkpoints")), {"invoice": 20})
			self.assertTrue(frappe.db.exists(RUN, "LEGACY-BULK-GATE"))
			self.assertTrue(frappe.db.exists(RUN, "LEGACY-BULK-SHARED"))
			self.assertFalse(frappe.db.exists(RUN, "LEGACY-BULK-LATER"))
		finally:
			writer.close()
			frappe.db.rollback()

	def _run(self, name: str) -> str:
		bulk.insert_rows(RUN, [self._row(name, json.dumps({"invoice": 10}), None, 0)])
		frappe.db.commit()
		return name
