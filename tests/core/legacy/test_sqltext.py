"""Values as SQL text for the legacy import's bulk writes (core/legacy/sqltext.py)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from pymysql.converters import conversions, escape_item

from gigafibre_fsm.core.legacy.sqltext import RowTemplate, copy_field, load_field, mysql_literal

TRICKY = [
	None,
	True,
	False,
	0,
	-42,
	10**20,
	1.5,
	-0.1,
	1e-07,
	3.0,
	Decimal("0"),
	Decimal("-12.340000000"),
	Decimal("1E+3"),
	Decimal("1E-9"),
	"",
	"plain",
	"l'été d'Éric",
	'double "quotes"',
	"back\\slash\\",
	"trailing backslash \\",
	"nul\0inside",
	"lines\nand\rreturns\tand tabs",
	"ctrl-z \x1a",
	"100 % sure, %s %d %(x)s",
	"émoji 🚀 中文 Ω",
	"\\'; DROP TABLE x; --",
	dt.date(2019, 3, 7),
	dt.date(1, 1, 1),
	dt.datetime(2026, 12, 6, 13, 40, 5),
	dt.datetime(2026, 12, 6, 13, 40, 5, 120),
	dt.time(10, 0),
	dt.time(10, 0, 0, 5),
	dt.timedelta(hours=10),
	dt.timedelta(days=1, seconds=5, microseconds=7),
]


@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_mysql_literal_is_what_pymysql_writes(value):
	assert mysql_literal(value) == escape_item(value, "utf8mb4", conversions)


def test_random_strings_of_special_characters_escape_as_pymysql_does():
	rng = random.Random(7)
	alphabet = "\0\\\n\r\x1a'\"\t %_aé🚀"
	for _ in range(2000):
		text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
		assert mysql_literal(text) == escape_item(text, "utf8mb4", conversions)
		if "\0" not in text:
			assert _copy_unescape(copy_field(text)) == text


def test_dates_are_remembered_by_type():
	day, midnight = dt.date(2020, 1, 2), dt.datetime(2020, 1, 2)
	assert mysql_literal(day) == "'2020-01-02'"
	assert mysql_literal(midnight) == "'2020-01-02 00:00:00'"
	assert mysql_literal(day) == "'2020-01-02'"
	assert copy_field(midnight) == "2020-01-02 00:00:00"


def test_str_subclasses_and_bytes():
	class Lazy(str):
		pass

	assert mysql_literal(Lazy("a'b")) == "'a\\'b'"
	assert copy_field(Lazy("a\tb")) == "a\\tb"
	assert mysql_literal(b"\x00\xff'") == "X'00ff27'"
	assert copy_field(b"\x00\xff") == "\\\\x00ff"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN"), object(), [1], {"a": 1}])
def test_refuses_what_it_cannot_write(bad):
	with pytest.raises((TypeError, ValueError)):
		mysql_literal(bad)
	with pytest.raises((TypeError, ValueError)):
		copy_field(bad)


def test_timezone_aware_datetimes_are_refused():
	aware = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
	with pytest.raises(ValueError):
		mysql_literal(aware)
	with pytest.raises(ValueError):
		copy_field(aware)


def _copy_unescape(field: str):
	"""PostgreSQL's reading of a COPY text field (the escapes copy_field writes)."""
	if field == "\\N":
		return None
	out, i = [], 0
	table = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
	while i < len(field):
		if field[i] == "\\":
			out.append(table[field[i + 1]])
			i += 2
		else:
			out.append(field[i])
			i += 1
	return "".join(out)


@pytest.mark.parametrize("value", [v for v in TRICKY if not (isinstance(v, str) and "\0" in v)], ids=repr)
def test_copy_field_round_trips(value):
	text = copy_field(value)
	assert "\t" not in text and "\n" not in text and "\r" not in text
	back = _copy_unescape(text)
	if value is None:
		assert back is None
	elif isinstance(value, str):
		assert back == value
	elif isinstance(value, bool):
		assert back == str(int(value))
	elif isinstance(value, dt.date | dt.time):
		assert back == (value.isoformat(" ") if isinstance(value, dt.datetime) else value.isoformat())
	elif isinstance(value, Decimal | int | float):
		assert Decimal(back) == Decimal(str(value))


def test_copy_refuses_nul():
	with pytest.raises(ValueError):
		copy_field("a\0b")


def test_row_template_renders_constants_once_and_variables_per_row():
	kinds = [None, ("const", "50% off"), None, ("const", None), ("const", Decimal("1.50")), None]
	insert = RowTemplate(kinds)
	assert insert.width == 3
	# the variable columns first, then the constants: the statement names them in that order
	assert insert.columns(list("abcdef")) == ["a", "c", "f", "b", "d", "e"]
	row = insert.render(["a'b", dt.date(2020, 1, 2), None])
	assert row == "('a\\'b', '2020-01-02', NULL, '50% off', NULL, 1.50)"
	copy = RowTemplate(kinds, copy=True)
	assert copy.render(["a\tb", 7, "%s"]) == "a\\tb\t7\t%s\t50% off\t\\N\t1.50\n"
	assert RowTemplate([("const", 1), ("const", "x")], style="load").render([]) == "1\tx\n"
	assert RowTemplate([None, None], style="load").render(["x", None]) == "x\t\\N\n"
	with pytest.raises(ValueError):
		insert.columns(["a", "b"])


@pytest.mark.parametrize("style", ["insert", "copy", "load"])
def test_a_rendered_row_holds_each_column_as_its_own_function_writes_it(style):
	"""Whatever the mix of constant and variable columns, the row read in :meth:`columns` order
	is each value as ``mysql_literal``, ``copy_field`` or ``load_field`` writes it alone."""
	encode = {"insert": mysql_literal, "copy": copy_field, "load": load_field}[style]
	values = [v for v in TRICKY if style == "insert" or "\0" not in str(v) or style == "load"]
	if style != "load":  # LOAD DATA text refuses bytes
		values += [b"\x00'\\", bytearray(b"ab")]
	rng = random.Random(11)
	for _ in range(300):
		row = [rng.choice(values) for _ in range(rng.randrange(1, 12))]
		kinds = [("const", v) if rng.random() < 0.4 else None for v in row]
		template = RowTemplate(kinds, style=style)
		names = [f"c{i}" for i in range(len(row))]
		text = template.render([v for v, k in zip(row, kinds, strict=True) if k is None])
		expected = [encode(row[int(n[1:])]) for n in template.columns(names)]
		if style == "insert":
			assert text == "(" + ", ".join(expected) + ")"
		else:
			assert text == "\t".join(expected) + "\n"


def test_decimals_are_written_as_format_f_writes_them():
	rng = random.Random(5)
	for _ in range(5000):
		value = Decimal(rng.randrange(-(10**12), 10**12)).scaleb(rng.randrange(-14, 6))
		for encode in (mysql_literal, copy_field, load_field):
			assert encode(value) == format(value, "f")
	for value in (Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")):
		with pytest.raises(ValueError):
			copy_field(value)
		with pytest.raises(ValueError):
			RowTemplate([None], style="load").render([value])


def test_load_field_escapes_like_copy_and_writes_nul():
	assert load_field("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
	assert load_field("nul\0inside") == "nul\\0inside"
	assert load_field(None) == "\\N"
	assert load_field(True) == "1"
	assert load_field(dt.datetime(2020, 1, 2, 3, 4, 5, 6)) == "2020-01-02 03:04:05.000006"
	with pytest.raises(TypeError):
		load_field(b"\x00\x01")
	template = RowTemplate([None, ("const", "x\ty"), None], style="load")
	assert template.render(["a\0b", None]) == "a\\0b\t\\N\tx\\ty\n"
	with pytest.raises(ValueError):
		RowTemplate([None], style="csv")


def test_load_data_reads_back_what_load_field_wrote(tmp_path):
	"""Every tricky value through MariaDB's own LOAD DATA LOCAL INFILE (the writer's path on
	MariaDB) comes back as it went in."""
	import pymysql

	from tests.conftest import MARIADB, _unavailable

	try:
		conn = pymysql.connect(
			**MARIADB, connect_timeout=3, autocommit=True, local_infile=True, charset="utf8mb4"
		)
	except Exception as e:
		_unavailable("MariaDB", e)
	strings = [v for v in TRICKY if isinstance(v, str)] + [None]
	numbers = [v for v in TRICKY if isinstance(v, Decimal | int) and not isinstance(v, bool)]
	database = f"gf_test_load_{random.randrange(16**8):08x}"
	try:
		with conn.cursor() as cur:
			cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
			cur.execute(
				f"CREATE TABLE `{database}`.t (i INT PRIMARY KEY, s LONGTEXT NULL, n DECIMAL(40, 12) NULL, "
				"d DATETIME(6) NULL, b TINYINT NULL) CHARACTER SET utf8mb4"
			)
			template = RowTemplate([None] * 5, style="load")
			rows = [
				[i, s, numbers[i % len(numbers)], dt.datetime(2020, 1, 2, 3, 4, 5, i), i % 2 == 0]
				for i, s in enumerate(strings)
			]
			path = tmp_path / "rows.tsv"
			path.write_text("".join(template.render(r) for r in rows), encoding="utf-8")
			cur.execute(
				f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE `{database}`.t CHARACTER SET utf8mb4 (i, s, n, d, b)"
			)
			assert cur.rowcount == len(rows)
			assert cur.warning_count == 0
			cur.execute(f"SELECT i, s, n, d, b FROM `{database}`.t ORDER BY i")
			back = cur.fetchall()
		assert [list(r) for r in back] == [[i, s, Decimal(n), d, int(b)] for i, s, n, d, b in rows]
	finally:
		with conn.cursor() as cur:
			cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
		conn.close()
