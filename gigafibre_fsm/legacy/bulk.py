"""Write rows the way the ORM would, many at a time.

- :func:`template_row`: every column of a doctype with the defaults ``frappe.new_doc`` gives;
- :class:`Shape`: the rows an ORM-made prototype document wrote (its own row, child rows, GL and
  Payment Ledger rows), with each value recognised as one of the prototype's inputs (its name,
  customer, dates, amounts...) or kept as a constant; ``shape.make(values)`` writes the same row
  for other inputs. What ERPNext fills in on insert and submit is thereby copied, not re-coded;
- :func:`insert_rows` / :func:`write`: multi-row INSERTs sent as text on MariaDB, ``COPY FROM
  STDIN`` on PostgreSQL, on the site's connection and in its transaction (values rendered by
  ``core.legacy.sqltext``: PyMySQL's escaping, COPY's text format);
- :func:`reserve_names`: advance a naming series by N at once, as N ``getseries`` calls would.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from decimal import Decimal

import frappe
from frappe.model.naming import NamingSeries
from frappe.utils import now_datetime

from gigafibre_fsm.core.legacy.names import HashNames, with_lead
from gigafibre_fsm.core.legacy.sqltext import RowTemplate

STATEMENT_CHARS = 1_000_000  # of row text per INSERT or COPY (MariaDB's max_allowed_packet: 16 MiB)
STANDARD = ("name", "owner", "creation", "modified", "modified_by")


def quote(identifier: str) -> str:
	return f'"{identifier}"' if frappe.db.db_type == "postgres" else f"`{identifier}`"


def insert_rows(doctype: str, rows: list[dict], writer=None) -> int:
	"""INSERT ``rows`` (dicts with the same keys) into ``tab<doctype>``; returns the count. With
	``writer`` (legacy.writer), handed to it: written with the batch's checkpoint."""
	if not rows:
		return 0
	columns = list(rows[0])
	return insert_values(doctype, columns, [[row[c] for c in columns] for row in rows], writer)


def insert_values(doctype: str, columns: list[str], rows: list[list], writer=None) -> int:
	"""INSERT value lists (in ``columns`` order) into ``tab<doctype>``; returns the count.

	Rows named by a random hash that no other row refers to (GL and Payment Ledger entries, child
	rows) may meet a name already taken among the site's millions: as the ORM's ``db_insert`` does,
	the statement is then written again with new names (up to 5 times). Statements are cut by
	size (:data:`STATEMENT_CHARS`)."""
	if not rows:
		return 0
	template = RowTemplate([None] * len(columns), style=style_for(writer))
	name_at = columns.index("name") if "name" in columns and _leaf_hash_named(doctype) else None
	return _emit(doctype, columns, template, rows, name_at, writer)


def _emit(doctype: str, columns: list[str], template: RowTemplate, rows: list, name_at, writer) -> int:
	"""Write now on the site's connection, or hand over to ``writer`` (legacy.writer)."""
	if writer is not None:
		writer.add(job(doctype, columns, template, rows, name_at))
		return len(rows)
	return write(doctype, columns, template, rows, name_at)


def style_for(writer=None) -> str:
	"""How rows are sent: ``copy`` on PostgreSQL, ``load`` (LOAD DATA LOCAL) by a writer whose
	MariaDB connections may, ``insert`` otherwise (the site's own connection never may)."""
	if frappe.db.db_type == "postgres":
		return "copy"
	return "load" if writer is not None and getattr(writer, "load", False) else "insert"


def write(doctype: str, columns: list[str], template: RowTemplate, rows: list, name_at: int | None) -> int:
	"""Write ``rows`` (each the variable values ``template`` renders) into ``tab<doctype>`` on the
	site's own connection, in its open transaction (committed with the import's checkpoint)."""
	if not rows:
		return 0
	pg = frappe.db.db_type == "postgres"
	write_job(
		frappe.db._cursor,
		pg,
		frappe.db.is_primary_key_violation,
		*job(doctype, columns, template, rows, name_at),
	)
	return len(rows)


def job(doctype: str, columns: list[str], template: RowTemplate, rows: list, name_at: int | None) -> tuple:
	"""What :func:`write_job` needs: the statement's head, the template, the rows, the name index."""
	table = quote("tab" + doctype)
	names = ", ".join(quote(c) for c in template.columns(columns))  # the order the rows are rendered in
	if template.style == "copy":
		return (f"COPY {table} ({names}) FROM STDIN", template, rows, name_at)
	if template.style == "load":
		return (f"LOAD DATA LOCAL INFILE {LOAD_PATH} INTO TABLE {table} CHARACTER SET utf8mb4 ({names})",
			template, rows, name_at)  # fmt: skip
	return (f"INSERT INTO {table} ({names}) VALUES ", template, rows, name_at)


LANE_LEADS = "0123456789abcdef"  # the first character of a writer lane's hash names
LOAD_PATH = "<file>"  # in a LOAD DATA statement's head: the writer lane's own file
_DUPLICATE = re.compile(r"^Duplicate entry '(.*)' for key 'PRIMARY'$", re.S)


def write_job(cursor, pg: bool, is_pk_violation, head: str, template: RowTemplate, rows: list, name_at,
	space: int | None = None, load_file: str | None = None, on_lock_wait=None) -> None:  # fmt: skip
	"""Multi-row INSERTs sent as text on MariaDB (the values rendered by core.legacy.sqltext exactly
	as PyMySQL would escape them, without its per-parameter formatting), ``COPY ... FROM STDIN`` on
	PostgreSQL, on ``cursor`` (the site's connection, or the writer's: legacy.writer). Touches
	nothing of Frappe's (the writer calls it from its thread). ``space`` (a writer lane's number):
	the hash names are given that lane's first character, as a worker's trace id gives its own in
	Frappe, so that lanes writing at once never draw the same name. ``name_at``: the index of a hash name
	among the variables, drawn again on a primary-key collision (the statement is undone by itself
	on MariaDB; on PostgreSQL, which aborts the transaction, through a savepoint). A LOAD DATA job
	(a writer lane's, ``load_file`` its file) goes through :func:`_load_rows`. ``on_lock_wait(attempt)``
	(MariaDB, a writer lane's): a statement that waited too long for a lock is sent again while it
	answers True (InnoDB undid that statement only)."""
	render = template.render
	execute = cursor.execute if on_lock_wait is None else _patient(cursor, on_lock_wait)
	lead = None if space is None else LANE_LEADS[space % len(LANE_LEADS)]
	if lead is not None and name_at is not None:
		# a hash name no other row refers to, moved into the range of names this lane draws from
		for i, row in enumerate(rows):
			row = rows[i] = list(row)
			row[name_at] = with_lead(row[name_at], lead)
	redraw = _redraw(name_at, lead)
	for start, end, texts in _statements(rows, render):
		if template.style == "load":
			statement = head.replace(LOAD_PATH, _sql_path(load_file))
			_load_rows(cursor, statement, load_file, texts, rows, range(start, end), name_at, redraw, render,
				execute)  # fmt: skip
			continue
		for attempt in range(6):
			if pg and name_at is not None:
				cursor.execute("SAVEPOINT gf_legacy_chunk")
			try:
				if pg:
					cursor.copy_expert(head, io.StringIO("".join(texts)))
				else:
					execute(head + ",".join(texts))
				break
			except Exception as e:
				if name_at is None or attempt == 5 or not is_pk_violation(e):
					raise
				if pg:
					cursor.execute("ROLLBACK TO SAVEPOINT gf_legacy_chunk")
				for i in range(start, end):
					rows[i] = list(rows[i])
					redraw(rows[i])
				texts = [render(rows[i]) for i in range(start, end)]


LOCK_WAIT_TIMEOUT = 1205  # MariaDB: Lock wait timeout exceeded (the statement alone is undone)


def is_lock_wait_timeout(error: BaseException) -> bool:
	args = getattr(error, "args", ())
	return bool(args) and args[0] == LOCK_WAIT_TIMEOUT


def _patient(cursor, on_lock_wait):
	def execute(sql: str) -> None:
		attempt = 0
		while True:
			try:
				cursor.execute(sql)
				return
			except Exception as e:
				if not is_lock_wait_timeout(e) or not on_lock_wait(attempt):
					raise
				attempt += 1

	return execute


def _statements(rows: list, render):
	"""(start, end, texts): the rows cut into statements of about :data:`STATEMENT_CHARS`."""
	start = 0
	while start < len(rows):
		texts, size, end = [], 0, start
		while end < len(rows) and size < STATEMENT_CHARS:
			text = render(rows[end])
			texts.append(text)
			size += len(text)
			end += 1
		yield start, end, texts
		start = end


def _redraw(name_at, lead):
	def redraw(row: list) -> None:
		with _retry_lock:  # the writer's lanes redraw from their threads
			name = _retry_names.draw()
		row[name_at] = name if lead is None else with_lead(name, lead)

	return redraw


def _sql_path(path: str) -> str:
	return "'" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _load_rows(cursor, statement: str, path: str, texts: list[str], rows: list, indexes, name_at, redraw,
	render, execute=None) -> None:  # fmt: skip
	"""One LOAD DATA LOCAL INFILE of ``texts`` (the rendered ``rows[i]`` for ``i`` in ``indexes``).

	With LOCAL the server cannot stop the client's file midway: a duplicate key or a value it had
	to convert is a warning and the row is skipped or altered, where an INSERT fails. So the
	warnings are read after each load: a row whose hash name (``name_at``) was already taken is
	loaded again under a new name, as an INSERT's collision is retried (up to 5 times); any other
	warning, or a taken name that is not a hash, raises the error an INSERT would have raised,
	and the writer rolls the batch back."""
	import pymysql

	pending = list(indexes)
	for attempt in range(6):
		with open(path, "w", encoding="utf-8") as f:
			f.write("".join(texts))
		(execute or cursor.execute)(statement)
		loaded = cursor.rowcount
		taken: set[str] = set()
		if loaded != len(pending) or cursor.warning_count:
			cursor.execute("SHOW WARNINGS")
			warnings = cursor.fetchall()
			for _level, code, message in warnings:
				found = _DUPLICATE.match(message) if code == 1062 else None
				if found is None or name_at is None or attempt == 5:
					error = pymysql.err.IntegrityError if code == 1062 else pymysql.err.DataError
					raise error(code, message)
				taken.add(found.group(1))
			if loaded + len(taken) != len(pending):
				raise pymysql.err.DataError(
					0, f"LOAD DATA wrote {loaded} of {len(pending)} rows ({len(warnings)} warnings)"
				)
		if not taken:
			return
		pending = [i for i in pending if rows[i][name_at] in taken]
		for i in pending:
			rows[i] = list(rows[i])
			redraw(rows[i])
		texts = [render(rows[i]) for i in pending]


def _leaf_hash_named(doctype: str) -> bool:
	meta = frappe.get_meta(doctype)
	# no other row refers to these by name (a File's attachment is found by its URL)
	return bool(meta.istable) or doctype in ("GL Entry", "Payment Ledger Entry", "File")


class Rows:
	"""Rows made from shapes, grouped by doctype and shape, written together by :meth:`flush`."""

	def __init__(self):
		self.groups: dict[tuple[str, int], tuple[str, Shape, list]] = {}
		self.counts: dict[str, int] = {}

	def add(self, doctype: str, shape: Shape, values: dict) -> None:
		key = (doctype, id(shape))
		group = self.groups.get(key)
		if group is None:
			group = self.groups[key] = (doctype, shape, [])
		group[2].append(shape.variables(values))
		self.counts[doctype] = self.counts.get(doctype, 0) + 1

	def flush(self, writer=None) -> dict[str, int]:
		"""Write the rows on the site's connection, or hand them to ``writer`` (legacy.writer:
		written with the batch's checkpoint, in the background); the counts per doctype."""
		style = style_for(writer)
		for doctype, shape, rows in self.groups.values():
			name_at = shape.name_at if _leaf_hash_named(doctype) else None
			_emit(doctype, shape.columns, shape.template(style=style), rows, name_at, writer)
		counts, self.groups, self.counts = self.counts, {}, {}
		return counts


def existing(doctype: str, field: str, values) -> set:
	"""Which of ``values`` are already in ``doctype.field`` (as strings)."""
	values = [str(v) for v in values]
	found: set = set()
	for start in range(0, len(values), 1000):
		found.update(
			frappe.get_all(doctype, filters={field: ["in", values[start : start + 1000]]}, pluck=field)
		)
	return found


def template_row(doctype: str, **values) -> dict:
	"""All columns of ``doctype`` with ``new_doc`` defaults, ``values`` applied; name empty."""
	doc = frappe.new_doc(doctype)
	doc.update(values)
	row = dict(doc.get_valid_dict(sanitize=True))
	now = now_datetime()
	row.update(
		name=None,
		owner=frappe.session.user,
		modified_by=frappe.session.user,
		creation=now,
		modified=now,
		docstatus=0,
		idx=0,
	)
	return row


def reserve_names(series: str, count: int, digits: int | None = None) -> list[str]:
	"""``count`` consecutive names of ``series`` (e.g. ``ACC-SINV-.YYYY.-``), the counter in
	tabSeries advanced once (locked for update) — the names ``count`` ORM inserts would take."""
	if count <= 0:
		return []
	if "#" not in series:  # a naming_series option: the ORM appends the digits (set_name_by_naming_series)
		series = f"{series}.#####"
	naming = NamingSeries(series)
	prefix = naming.get_prefix()
	digits = digits or naming.series.count("#")
	table = frappe.qb.DocType("Series")
	current = frappe.qb.from_(table).where(table.name == prefix).for_update().select(table.current).run()
	if current and current[0][0] is not None:
		start = int(current[0][0])
		frappe.qb.update(table).set(table.current, start + count).where(table.name == prefix).run()
	else:
		start = 0
		frappe.qb.into(table).columns("name", "current").insert(prefix, count).run()
	return [f"{prefix}{n:0{digits}d}" for n in range(start + 1, start + count + 1)]


def hash_names(count: int) -> list[str]:
	"""Names as GL Entry, Payment Ledger Entry and child rows take them on insert."""
	return _names.many(count)


def free_hash_names(doctype: str, count: int) -> list[str]:
	"""``count`` hash names that no row of ``doctype`` has yet: for rows other rows of the same batch
	refer to (a Communication's links and attachments), which cannot be named again once written.
	Names drawn by one run never repeat (core.legacy.names); one look-up per batch rules out those
	the site already had."""
	names = hash_names(count)
	for _ in range(6):
		taken = existing(doctype, "name", names)
		if not taken:
			return names
		names = [new_hash() if n in taken else n for n in names]
	raise frappe.DuplicateEntryError(doctype, sorted(taken)[0])


_names = HashNames(lead=LANE_LEADS[0])  # the main thread's
_retry_names = HashNames(lead=LANE_LEADS[0])
_retry_lock = threading.Lock()


def new_hash() -> str:
	"""A 10-character name as the ORM's ``make_autoname("hash")`` draws it (core.legacy.names:
	a lead character, the time in deciseconds, random base32hex), the random parts drawn 4,096 at
	a time (one system call, not one a row)."""
	return _names.draw()


def _key(value):
	if isinstance(value, Decimal | float) and not isinstance(value, bool):
		return ("n", Decimal(str(value)).normalize())
	if isinstance(value, dt.datetime):
		return ("dt", value)
	if isinstance(value, dt.date):
		return ("d", value)
	if isinstance(value, str):
		return ("s", value)
	return None


def db_defaults(doctype: str) -> dict[str, tuple[bool, object]]:
	"""{column: (nullable, default)} of ``tab<doctype>`` from information_schema (default parsed:
	None, a Decimal or a string)."""
	if frappe.db.db_type == "postgres":
		sql = (
			"SELECT column_name, column_default, is_nullable FROM information_schema.columns "
			"WHERE table_schema = current_schema() AND table_name = %s"
		)
	else:
		sql = (
			"SELECT column_name, column_default, is_nullable FROM information_schema.columns "
			"WHERE table_schema = DATABASE() AND table_name = %s"
		)
	out = {}
	for column, default, nullable in frappe.db.sql(sql, ("tab" + doctype,)):
		out[column] = (str(nullable).upper() == "YES", _parse_default(default))
	return out


def _parse_default(default):
	if default is None:
		return None
	text = str(default).split("::")[0].strip()
	if text.upper() == "NULL":
		return None
	text = text.strip("'")
	try:
		return Decimal(text)
	except ArithmeticError:
		return text
	except ValueError:
		return text


class Shape:
	"""One row written by the prototype, as a recipe.

	``tracked`` maps a prototype value to the name of the input it came from, e.g.
	``{"ACC-SINV-2026-00001": "name", Decimal("220.00"): "grand_total"}``; a column holding one
	of them takes that input, a text column containing one (at least 6 characters) takes the text
	with it replaced, ``fields`` forces a column to an input; everything else is copied."""

	def __init__(self, row: dict, tracked: dict, fields: dict | None = None, defaults: dict | None = None):
		self.columns = list(row)
		self.const: dict = {}
		self.direct: dict = {}
		self.text: dict = {}
		keyed = {_key(v): k for v, k in tracked.items() if _key(v) is not None}
		substrings = sorted(
			((v, k) for v, k in tracked.items() if isinstance(v, str) and len(v) >= 6),
			key=lambda x: -len(x[0]),
		)
		fields = fields or {}
		for column, value in row.items():
			if column in fields:
				self.direct[column] = fields[column]
			elif column in ("creation", "modified"):
				self.direct[column] = "now"
			elif (k := _key(value)) is not None and k in keyed:
				self.direct[column] = keyed[k]
			elif isinstance(value, str) and any(v in value for v, _ in substrings):
				template = value.replace("{", "{{").replace("}", "}}")
				for v, k in substrings:
					template = template.replace(v, "{" + k + "}")
				self.text[column] = template
			else:
				self.const[column] = value
		if defaults:
			# A column the ORM writes with the database's own default is left to the database:
			# the row is the same, the statement shorter.
			for column, value in list(self.const.items()):
				nullable, default = defaults.get(column, (False, "<none>"))
				same = (value is None and default is None and nullable) or (
					isinstance(value, int | float | Decimal)
					and not isinstance(value, bool)
					and isinstance(default, Decimal)
					and Decimal(str(value)) == default
				)
				if same:
					del self.const[column]
					self.columns.remove(column)
		self._build()

	def _build(self) -> None:
		getters = []
		for column in self.columns:
			if column in self.direct:
				getters.append((0, self.direct[column]))
			elif column in self.text:
				getters.append((1, self.text[column]))
			else:
				getters.append((2, self.const[column]))
		self._getters = getters
		self._variables = [(kind, what) for kind, what in getters if kind != 2]
		variable_columns = [c for c in self.columns if c not in self.const]
		self.name_at = variable_columns.index("name") if "name" in variable_columns else None
		self._templates: dict[str, RowTemplate] = {}

	def values(self, values: dict) -> list:
		"""The row as a list in ``self.columns`` order."""
		out = []
		for kind, what in self._getters:
			if kind == 0:
				out.append(values[what])
			elif kind == 1:
				out.append(what.format_map(values))
			else:
				out.append(what)
		return out

	def variables(self, values: dict) -> list:
		"""The row's non-constant columns, in ``self.columns`` order (what :meth:`template` renders)."""
		return [values[what] if kind == 0 else what.format_map(values) for kind, what in self._variables]

	def template(self, copy: bool = False, style: str | None = None) -> RowTemplate:
		"""The row as SQL text, its constants rendered once (``style``: core.legacy.sqltext's
		"insert", "copy" — also ``copy=True`` — or "load")."""
		style = style or ("copy" if copy else "insert")
		if style not in self._templates:
			kinds = [None if c not in self.const else ("const", self.const[c]) for c in self.columns]
			self._templates[style] = RowTemplate(kinds, style=style)
		return self._templates[style]

	def make(self, values: dict) -> dict:
		return dict(zip(self.columns, self.values(values), strict=True))

	def describe(self) -> dict:
		return {"inputs": dict(self.direct), "texts": dict(self.text)}


def fetch_rows(doctype: str, filters: dict, order_by: str = "idx asc") -> list[dict]:
	return frappe.get_all(doctype, filters=filters, fields=["*"], order_by=order_by)
