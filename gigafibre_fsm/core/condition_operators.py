"""The operators :mod:`gigafibre_fsm.core.conditions` adds to or changes in the ``json_logic``
library: JavaScript's loose equality for ``==``/``!=`` (also in ``<=``/``>=``), and the domain
operators. :func:`register` installs them with the library's ``add_operation``; conditions.py
calls it once, at import.

``{"date_add": [date, amount, unit]}``
	``date`` moved by ``amount`` units (negative goes back). Units: ``minutes``,
	``hours``, ``days``, ``weeks``, ``months`` (singular accepted). Months are
	calendar months, clamped to the end of a shorter month, and must be whole.
	Returns an ISO string: ``"2026-11-25"`` when a date moves by whole days,
	weeks or months, else ``"2026-11-25 10:00:00"`` (plus ``-05:00`` when the
	input had a time zone), the format Frappe stores. ``null`` date → ``null``.
``{"date_diff": [a, b, unit]}``
	``b - a`` in ``unit``: a number, fractional for minutes to weeks (``1.5``
	days), whole completed calendar months for ``months``. Any ``null`` → ``null``.
``{"before": [a, b]}`` / ``{"after": [a, b]}``
	``a`` is strictly earlier / later than ``b``; ``false`` when either is ``null``.
``{"in_list": [value, [a, b, c]]}``
	Exact membership: strings are case-sensitive, ``1`` matches ``1.0``, booleans
	never match numbers, no string/number coercion. ``null`` list → ``false``.
``{"blank": [x]}``
	``x`` is ``null``, an empty or whitespace-only string, ``[]`` or ``{}``.
``{"starts_with": [text, prefix]}``
	Case-sensitive prefix test on strings (postal codes, phone area codes);
	``prefix`` may be a list of prefixes. ``false`` when ``text`` is not a string.

Dates are ISO strings (``"2026-11-25"``, ``"2026-11-25 10:00:00"``,
``"2026-11-25T10:00:00-05:00"``) or ``date``/``datetime`` objects; a date counts
as midnight when mixed with a datetime. A date with a time zone cannot be
compared to one without. These operators never read the clock: the caller puts
the current time in the data, e.g. ``data["now"]``, and rules read it with
``{"var": "now"}``::

        {"<": [{"date_diff": [{"var": "doc.signed_on"}, {"var": "now"}, "days"]}, 7]}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import json_logic

from gigafibre_fsm.core.contracts import add_months
from gigafibre_fsm.core.errors import InvalidInput

# -- JavaScript loose equality (replaces the library's == and !=) ------------

_JS_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?Infinity")


def _js_number(text: str) -> float:
	text = text.strip()
	if not text:
		return 0.0
	if not _JS_NUMBER.fullmatch(text):
		return math.nan
	return float(text.replace("Infinity", "inf"))


def _js_primitive(value: Any) -> Any:
	"""ToPrimitive of an array or object, as JavaScript does before comparing."""
	if isinstance(value, list | tuple):
		return ",".join("" if v is None else _js_string(v) for v in value)
	return "[object Object]"


def _js_string(value: Any) -> str:
	if isinstance(value, bool):
		return "true" if value else "false"
	if isinstance(value, list | tuple | dict):
		return _js_primitive(value)
	if isinstance(value, float) and value.is_integer():
		return str(int(value))
	return str(value)


def loose_equal(a: Any, b: Any) -> bool:
	"""JavaScript's ``a == b`` for JSON values (``1 == "1"``, ``0 == false``, ``null == null`` only)."""
	if a is None or b is None:
		return a is None and b is None
	if isinstance(a, bool):
		return loose_equal(int(a), b) if not isinstance(b, bool) else a is b
	if isinstance(b, bool):
		return loose_equal(a, int(b))
	a_number, b_number = isinstance(a, int | float), isinstance(b, int | float)
	if a_number and b_number:
		return a == b
	if isinstance(a, str) and isinstance(b, str):
		return a == b
	a_object, b_object = isinstance(a, list | tuple | dict), isinstance(b, list | tuple | dict)
	if a_object and b_object:
		return a is b  # two arrays are equal only when they are the same array
	if a_object:
		return loose_equal(_js_primitive(a), b)
	if b_object:
		return loose_equal(a, _js_primitive(b))
	if a_number and isinstance(b, str):
		return a == _js_number(b)
	if b_number and isinstance(a, str):
		return _js_number(a) == b
	return a == b  # other Python objects (dates): their own equality


def _loose_not_equal(a: Any, b: Any) -> bool:
	return not loose_equal(a, b)


_NO_ARGUMENT = object()


def _less_or_equal(a: Any, b: Any, c: Any = _NO_ARGUMENT) -> bool:
	"""The library's ``<=`` (and ``a <= b <= c``) with loose_equal for the equal part."""
	if not (json_logic._less_than(a, b) or loose_equal(a, b)):
		return False
	return c is _NO_ARGUMENT or _less_or_equal(b, c)


def _greater_or_equal(a: Any, b: Any) -> bool:
	return _less_or_equal(b, a)


# -- domain operators --------------------------------------------------------

_UNITS = {
	"minute": "minutes",
	"minutes": "minutes",
	"hour": "hours",
	"hours": "hours",
	"day": "days",
	"days": "days",
	"week": "weeks",
	"weeks": "weeks",
	"month": "months",
	"months": "months",
}
_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}


def _unit(unit: Any) -> str:
	try:
		return _UNITS[unit]
	except (KeyError, TypeError):
		raise InvalidInput("Unknown time unit {0} (use minutes, hours, days, weeks or months)", unit)


def to_datetime(value: Any) -> date | datetime | None:
	"""A date or datetime from an ISO string or a date/datetime object (``None`` stays ``None``)."""
	if value is None or isinstance(value, date):
		return value
	if isinstance(value, str):
		text = value.strip()
		try:
			if len(text) == 10:
				return date.fromisoformat(text)
			return datetime.fromisoformat(text)
		except ValueError:
			pass
	raise InvalidInput("{0} is not a valid date", value)


def _as_datetime(value: date | datetime) -> datetime:
	if isinstance(value, datetime):
		return value
	return datetime(value.year, value.month, value.day)


def _pair(a: Any, b: Any) -> tuple[datetime, datetime] | None:
	first, second = to_datetime(a), to_datetime(b)
	if first is None or second is None:
		return None
	first, second = _as_datetime(first), _as_datetime(second)
	if (first.tzinfo is None) != (second.tzinfo is None):
		raise InvalidInput("Cannot compare {0} with {1}: only one of them has a time zone", a, b)
	return first, second


def _number(value: Any) -> int | float:
	if isinstance(value, int | float) and not isinstance(value, bool):
		return value
	if isinstance(value, str):
		try:
			return float(value) if "." in value or "e" in value.lower() else int(value)
		except ValueError:
			pass
	raise InvalidInput("{0} is not a number", value)


def _iso(value: date | datetime) -> str:
	if isinstance(value, datetime):
		return value.isoformat(sep=" ")
	return value.isoformat()


def date_add(value: Any, amount: Any, unit: Any) -> str | None:
	unit, amount = _unit(unit), _number(amount)
	moment = to_datetime(value)
	if moment is None:
		return None
	if unit == "months":
		if amount != int(amount):
			raise InvalidInput("Months to add must be a whole number, not {0}", amount)
		if isinstance(moment, datetime):
			day = add_months(moment.date(), int(amount))
			return _iso(moment.replace(year=day.year, month=day.month, day=day.day))
		return _iso(add_months(moment, int(amount)))
	delta = timedelta(seconds=amount * _SECONDS[unit])
	if not isinstance(moment, datetime) and unit in ("days", "weeks") and amount == int(amount):
		return _iso(moment + delta)
	return _iso(_as_datetime(moment) + delta)


def date_diff(a: Any, b: Any, unit: Any) -> int | float | None:
	unit = _unit(unit)
	pair = _pair(a, b)
	if pair is None:
		return None
	first, second = pair
	if unit == "months":
		sign = 1 if second >= first else -1
		low, high = (first, second) if sign == 1 else (second, first)
		months = (high.year - low.year) * 12 + high.month - low.month
		day = add_months(low.date(), months)
		if low.replace(year=day.year, month=day.month, day=day.day) > high:
			months -= 1
		return sign * months
	result = (second - first).total_seconds() / _SECONDS[unit]
	return int(result) if result.is_integer() else result


def before(a: Any, b: Any) -> bool:
	pair = _pair(a, b)
	return pair is not None and pair[0] < pair[1]


def after(a: Any, b: Any) -> bool:
	pair = _pair(a, b)
	return pair is not None and pair[0] > pair[1]


def _same(a: Any, b: Any) -> bool:
	return isinstance(a, bool) == isinstance(b, bool) and a == b


def in_list(value: Any, options: Any = None) -> bool:
	if options is None:
		return False
	if not isinstance(options, list | tuple):
		raise InvalidInput("in_list needs a list as its second argument, not {0}", options)
	return any(_same(value, option) for option in options)


def blank(value: Any = None) -> bool:
	if value is None:
		return True
	if isinstance(value, str):
		return not value.strip()
	if isinstance(value, list | tuple | Mapping):
		return len(value) == 0
	return False


def starts_with(text: Any, prefix: Any) -> bool:
	if not isinstance(text, str):
		return False
	prefixes = prefix if isinstance(prefix, list | tuple) else [prefix]
	return any(isinstance(p, str) and text.startswith(p) for p in prefixes)


def register() -> None:
	# Custom operations take precedence over the library's common ones: this is
	# how == and != get JavaScript semantics.
	for name, code in {
		"==": loose_equal,
		"!=": _loose_not_equal,
		"<=": _less_or_equal,
		">=": _greater_or_equal,
		"date_add": date_add,
		"date_diff": date_diff,
		"before": before,
		"after": after,
		"in_list": in_list,
		"blank": blank,
		"starts_with": starts_with,
	}.items():
		json_logic.add_operation(name, code)
