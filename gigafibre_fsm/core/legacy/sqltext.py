"""Values as SQL text, for the legacy import's bulk writes (pure: no database, no Frappe).

- :func:`mysql_literal`: a value as a MariaDB literal, exactly as PyMySQL's ``escape_item`` writes
  it for a connection in the default SQL mode (backslash escapes on), so that a multi-row INSERT
  can be sent as text without PyMySQL formatting and escaping each parameter;
- :func:`copy_field`: a value as a field of PostgreSQL's ``COPY ... FROM STDIN`` text format
  (tab-separated, ``\\N`` for NULL, backslash escapes);
- :func:`load_field`: a value as a field of MariaDB's ``LOAD DATA`` with its default format
  (tab-separated, ``\\N`` for NULL, backslash escapes);
- :class:`RowTemplate`: a row whose constant columns are rendered once and whose variable ones are
  rendered per row: ``template.render(variables)`` is the row's text (``(..., ...)`` for an INSERT,
  a tab-separated line for COPY or LOAD DATA).

Accepted values: None, bool, int, float, Decimal, str (and its subclasses), bytes, date, datetime,
time, timedelta (what PyMySQL returns for TIME columns). Anything else is a TypeError: the import
never sends a value whose text it does not know.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

# PyMySQL's escape_string table (pymysql/converters.py): the characters MariaDB's parser needs
# escaped inside a quoted string with the default sql_mode. A search for any of them, then
# str.replace for each (backslash first), is some 20 times faster than str.translate on the long
# texts an invoice carries (its item-wise tax table), and most strings need nothing.
_MYSQL_SPECIAL = re.compile("[\0\\\\\n\r\x1a'\"]").search
_MYSQL_ESCAPES = (("\\", "\\\\"), ("\0", "\\0"), ("\n", "\\n"), ("\r", "\\r"), ("\x1a", "\\Z"),
	("'", "\\'"), ('"', '\\"'))  # fmt: skip
# PostgreSQL COPY text format: backslash, and the characters that would end a field or a row.
_COPY_SPECIAL = re.compile("[\\\\\t\n\r\0]").search
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
# MariaDB LOAD DATA (FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'): the same,
# and NUL written as \0.
_LOAD_SPECIAL = re.compile("[\\\\\t\n\r\0]").search
_LOAD_ESCAPES = (*_COPY_ESCAPES, ("\0", "\\0"))


def _mysql_str(value: str) -> str:
	if _MYSQL_SPECIAL(value) is None:
		return "'" + value + "'"
	for char, escaped in _MYSQL_ESCAPES:
		value = value.replace(char, escaped)
	return "'" + value + "'"


def _copy_str(value: str) -> str:
	if (value.isprintable() and "\\" not in value) or _COPY_SPECIAL(value) is None:
		return value
	if "\0" in value:
		raise ValueError("PostgreSQL text cannot hold a NUL character")
	for char, escaped in _COPY_ESCAPES:
		value = value.replace(char, escaped)
	return value


def _load_str(value: str) -> str:
	# printable text has no tab, line break or NUL (a C scan, faster than the regex search)
	if (value.isprintable() and "\\" not in value) or _LOAD_SPECIAL(value) is None:
		return value
	for char, escaped in _LOAD_ESCAPES:
		value = value.replace(char, escaped)
	return value


def _float(value: float) -> str:
	text = repr(value)
	if text in ("inf", "-inf", "nan"):
		raise ValueError(f"{text} cannot be written to the database")
	return text


def _timedelta(value: dt.timedelta) -> str:
	seconds = int(value.seconds) % 60
	minutes = int(value.seconds // 60) % 60
	hours = int(value.seconds // 3600) % 24 + int(value.days) * 24
	if value.microseconds:
		return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{value.microseconds:06d}"
	return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def _datetime(value: dt.datetime) -> str:
	if value.tzinfo is not None:
		raise ValueError(f"a timezone-aware datetime cannot be written as it is: {value!r}")
	return value.isoformat(" ")


_DATES: dict[type, dict] = {dt.date: {}, dt.datetime: {}}


def _date_text(kind: type, value) -> str:
	"""A date's or datetime's text, remembered (a batch's rows share their few dates)."""
	seen = _DATES[kind]
	text = seen.get(value)
	if text is None:
		if len(seen) > 50_000:
			seen.clear()
		text = seen[value] = _datetime(value) if kind is dt.datetime else value.isoformat()
	return text


def _time(value: dt.time) -> str:
	return value.isoformat()


def mysql_literal(value) -> str:
	"""``value`` as a MariaDB SQL literal."""
	kind = type(value)
	if kind is str:
		return _mysql_str(value)
	if value is None:
		return "NULL"
	if kind is Decimal:
		if not value.is_finite():
			raise ValueError(f"{value} cannot be written to the database")
		return format(value, "f")
	if kind is int:
		return str(value)
	if kind is bool:
		return "1" if value else "0"
	if kind is float:
		text = _float(value)
		return text if "e" in text else text + "e0"
	if kind is dt.datetime or kind is dt.date:
		return "'" + _date_text(kind, value) + "'"
	if kind is dt.timedelta:
		return "'" + _timedelta(value) + "'"
	if kind is dt.time:
		return "'" + _time(value) + "'"
	if kind is bytes or kind is bytearray:
		return "X'" + bytes(value).hex() + "'"
	if isinstance(value, str):
		return mysql_literal(str(value))
	raise TypeError(f"no SQL literal for {kind.__name__}: {value!r}")


def copy_field(value) -> str:
	"""``value`` as a field of PostgreSQL's COPY text format."""
	kind = type(value)
	if kind is str:
		return _copy_str(value)
	if value is None:
		return "\\N"
	if kind is Decimal:
		if not value.is_finite():
			raise ValueError(f"{value} cannot be written to the database")
		return format(value, "f")
	if kind is int:
		return str(value)
	if kind is bool:
		return "1" if value else "0"  # the app's Check columns are smallint on PostgreSQL
	if kind is float:
		return _float(value)
	if kind is dt.datetime or kind is dt.date:
		return _date_text(kind, value)
	if kind is dt.timedelta:
		return _timedelta(value)
	if kind is dt.time:
		return _time(value)
	if kind is bytes or kind is bytearray:
		return "\\\\x" + bytes(value).hex()  # bytea's hex input, its backslash escaped for COPY
	if isinstance(value, str):
		return copy_field(str(value))
	raise TypeError(f"no COPY text for {kind.__name__}: {value!r}")


def load_field(value) -> str:
	"""``value`` as a field of MariaDB's LOAD DATA text (its default field and line format)."""
	kind = type(value)
	if kind is str:
		return _load_str(value)
	if kind is bytes or kind is bytearray:
		raise TypeError("LOAD DATA text cannot carry bytes: write them with an INSERT")
	if isinstance(value, str) and kind is not str:
		return _load_str(str(value))
	return copy_field(value)


def _decimal(value: Decimal) -> str:
	"""``format(value, "f")``, which costs three times ``str``: ``str`` writes the same digits
	unless it chose an exponent (``1E+3``, ``1E-9``) or the value is not finite (``NaN``,
	``Infinity``: no final digit)."""
	text = str(value)
	if "E" in text or not text[-1].isdigit():
		if not value.is_finite():
			raise ValueError(f"{value} cannot be written to the database")
		return format(value, "f")
	return text


def _remembered(kind: type):
	seen = _DATES[kind]

	def text(value) -> str:
		found = seen.get(value)
		return _date_text(kind, value) if found is None else found

	return text


def _mysql_float(value: float) -> str:
	text = _float(value)
	return text if "e" in text else text + "e0"


def _bool(value: bool) -> str:
	return "1" if value else "0"


def _by_type(text, null: str, floats, quote: str = "", binary=None) -> dict:
	"""One style's encoders by exact type: ``text`` for str, ``null`` for None, ``floats``, dates and
	times between ``quote``s, ``binary`` for bytes (none: bytes go to the style's own function)."""

	def quoted(encode):
		return (lambda value: quote + encode(value) + quote) if quote else encode

	table = {str: text, type(None): lambda _value: null, Decimal: _decimal, int: str, bool: _bool,
		float: floats, dt.datetime: quoted(_datetime_text), dt.date: quoted(_date),
		dt.timedelta: quoted(_timedelta), dt.time: quoted(_time)}  # fmt: skip
	if binary is not None:
		table[bytes] = binary
		table[bytearray] = lambda value: binary(bytes(value))
	return table


_date, _datetime_text = _remembered(dt.date), _remembered(dt.datetime)
# Each value's text by its exact type, one look-up instead of a chain of tests (a full-scale import
# renders some 150 million values). A type not listed (a subclass of str, say) goes through the
# functions above, which give the same text or refuse the value.
_COPY_BY_TYPE = _by_type(_copy_str, "\\N", _float, binary=lambda value: "\\\\x" + value.hex())
_LOAD_BY_TYPE = _by_type(_load_str, "\\N", _float)  # bytes: refused by load_field
_MYSQL_BY_TYPE = _by_type(
	_mysql_str, "NULL", _mysql_float, "'", binary=lambda value: "X'" + value.hex() + "'"
)
_BY_TYPE = {"insert": _MYSQL_BY_TYPE, "copy": _COPY_BY_TYPE, "load": _LOAD_BY_TYPE}

STYLES = ("insert", "copy", "load")


class RowTemplate:
	"""A row of ``len(kinds)`` columns: ``kinds[i]`` is ``None`` for a variable column or
	``("const", value)`` for a constant one. ``render(variables)`` (the variable columns' values,
	in column order) gives the row as an INSERT tuple (``style`` "insert"), a COPY line ("copy";
	also ``copy=True``) or a LOAD DATA line ("load").

	The row's text holds the variable columns first, then the constant ones, rendered once and
	joined in advance: a statement names its columns in that order (:meth:`columns`). Joining the
	values is then a ``str.join``, some three times faster than ``%`` formatting a wide row."""

	def __init__(self, kinds: list, copy: bool = False, style: str | None = None):
		style = style or ("copy" if copy else "insert")
		if style not in STYLES:
			raise ValueError(f"style must be one of {STYLES}, not {style!r}")
		self.style = style
		self.copy = style != "insert"
		encode = {"insert": mysql_literal, "copy": copy_field, "load": load_field}[style]
		self.kinds = list(kinds)
		self.sep = "\t" if self.copy else ", "
		constants = self.sep.join(encode(kind[1]) for kind in kinds if kind is not None)
		end = "\n" if self.copy else ")"
		self.head = "" if self.copy else "("
		self.width = sum(1 for kind in kinds if kind is None)
		if not self.width:
			self.tail = constants + end
		else:
			self.tail = (self.sep + constants if self.width < len(kinds) else "") + end
		self.encode = encode
		self.by_type = _BY_TYPE[style].get

	def columns(self, names: list[str]) -> list[str]:
		"""``names`` (one per kind) in the order :meth:`render` writes them."""
		if len(names) != len(self.kinds):
			raise ValueError(f"{len(names)} column names for a row of {len(self.kinds)}")
		pairs = list(zip(names, self.kinds, strict=True))
		return [n for n, k in pairs if k is None] + [n for n, k in pairs if k is not None]

	def render(self, variables) -> str:
		by_type, other = self.by_type, self.encode
		return self.head + self.sep.join([(by_type(type(v)) or other)(v) for v in variables]) + self.tail
