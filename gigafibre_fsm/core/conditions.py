"""JSONLogic conditions: the one place the app evaluates a rule.

Every condition of a flow (a template's ``trigger_condition``, a step's
``condition``, a wait-until rule) goes through :func:`evaluate`. It is an
adapter over the ``json_logic`` package (PyPI json-logic-qubit) that:

- refuses any operator outside :data:`KNOWN_OPERATORS`, before anything is
  evaluated. The library's ``method`` (calls any Python method on any value),
  ``log``, its unofficial ``count`` and its dot-notated custom operations
  (``{"datetime.datetime.now": []}``) can therefore never run;
- treats a missing rule (``None`` or ``{}``) as "no condition", i.e. ``True``;
- replaces the library's ``==``/``!=`` by JavaScript's loose equality (the
  library says ``null == "None"`` and ``true == "True"``), also in ``<=``/``>=``;
- turns every failure into :class:`~gigafibre_fsm.core.errors.InvalidInput`.

Domain operators (condition_operators.py documents them; registered once, at import, with the
library's ``add_operation``): ``date_add``, ``date_diff``, ``before``, ``after``, ``in_list``,
``blank``, ``starts_with``. They never read the clock: the caller puts the current time in the
data (``data["now"]``) and rules read it with ``{"var": "now"}``.

Known differences with json-logic-js kept on purpose: a failing computation
(``"abc" * 2``, division by zero) raises instead of yielding ``NaN``/``Infinity``;
``reduce`` only accepts a literal initial value (the library does not evaluate it).
"""

from __future__ import annotations

import math
from typing import Any

import json_logic

from gigafibre_fsm.core import condition_operators
from gigafibre_fsm.core.errors import CoreError, InvalidInput

STANDARD_OPERATORS = frozenset(
	{
		"var",
		"missing",
		"missing_some",
		"if",
		"?:",
		"==",
		"===",
		"!=",
		"!==",
		"!",
		"!!",
		"or",
		"and",
		">",
		">=",
		"<",
		"<=",
		"max",
		"min",
		"+",
		"-",
		"*",
		"/",
		"%",
		"map",
		"filter",
		"reduce",
		"all",
		"none",
		"some",
		"merge",
		"in",
		"cat",
		"substr",
	}
)
DOMAIN_OPERATORS = frozenset({"date_add", "date_diff", "before", "after", "in_list", "blank", "starts_with"})
KNOWN_OPERATORS = STANDARD_OPERATORS | DOMAIN_OPERATORS
# operators of json-logic-qubit refused even though the library knows them
FORBIDDEN_OPERATORS = frozenset({"method", "log", "count"})

# operators whose second argument is evaluated against each element, not the data
SCOPED_OPERATORS = frozenset({"map", "filter", "reduce", "all", "none", "some"})

# (fewest, most) arguments, checked when the arguments are written as a list
ARITY = {
	"var": (0, 2),
	"missing_some": (2, 2),
	"?:": (3, 3),
	"!": (1, 1),
	"!!": (1, 1),
	"map": (2, 2),
	"filter": (2, 2),
	"reduce": (2, 3),
	"all": (2, 2),
	"none": (2, 2),
	"some": (2, 2),
	"in": (2, 2),
	"substr": (2, 3),
	"date_add": (3, 3),
	"date_diff": (3, 3),
	"before": (2, 2),
	"after": (2, 2),
	"in_list": (2, 2),
	"blank": (1, 1),
	"starts_with": (2, 2),
}

_EVALUATION_ERRORS = (
	ValueError,
	TypeError,
	KeyError,
	IndexError,
	AttributeError,
	ZeroDivisionError,
	OverflowError,
	RecursionError,
)


def evaluate(rule: Any, data: Any = None) -> Any:
	"""The value of the JSONLogic ``rule`` for ``data``; ``True`` when there is no rule.

	Raises InvalidInput for an operator outside KNOWN_OPERATORS (nothing is
	evaluated then) and for any error met while evaluating.
	"""
	if rule is None or rule == {}:
		return True
	try:
		_refuse_unknown(rule)
		return json_logic.jsonLogic(rule, data)
	except CoreError:
		raise
	except _EVALUATION_ERRORS as e:
		raise InvalidInput("The condition could not be evaluated: {0}", _describe(e))


def matches(rule: Any, data: Any = None) -> bool:
	"""Whether ``rule`` holds for ``data``, with JSONLogic truthiness (``[]`` is false, ``"0"`` true)."""
	return bool(evaluate(rule, data))


def validate_rule(rule: Any) -> list[str]:
	"""Human-readable problems of a rule (empty when it can be evaluated).

	Reports unknown or forbidden operators, objects that are not operations
	(an operation has exactly one key), wrong argument counts, values that are
	not JSON, and a ``reduce`` whose initial value is not a literal.
	"""
	if rule is None or rule == {}:
		return []
	problems: list[str] = []
	_validate(rule, "", problems)
	return problems


def variables(rule: Any) -> set[str]:
	"""The data paths a rule reads: literal ``var`` names and ``missing``/``missing_some`` names.

	A ``var`` inside the per-element logic of ``map``, ``filter``, ``reduce``,
	``all``, ``none`` or ``some`` reads the element, not the data: left out.
	Computed names (``{"var": {"cat": ...}}``) cannot be known: left out.
	"""
	found: set[str] = set()
	_collect(rule, found)
	return found


# -- walking rules -----------------------------------------------------------


_CONTAINERS = (dict, list, tuple)
_SEQUENCES = (list, tuple)


def _refuse_unknown(rule: Any) -> None:
	"""Raise on the first operator the library would run that is not allowed.

	Hot path (runs on every evaluation): plain values are skipped without a call.
	"""
	if isinstance(rule, dict):
		if len(rule) != 1:
			return  # not an operation: the library returns it as it is
		operator = next(iter(rule))
		if operator not in KNOWN_OPERATORS:
			if operator in FORBIDDEN_OPERATORS:
				raise InvalidInput("The operator {0} is not allowed in a condition", operator)
			raise InvalidInput("Unknown operator {0} in a condition", operator)
		values = rule[operator]
		if operator == "reduce" and isinstance(values, list) and len(values) > 2 and _is_logic(values[2]):
			raise InvalidInput("The initial value of reduce must be a plain value, not an operation")
		if isinstance(values, _CONTAINERS):
			_refuse_unknown(values)
	elif isinstance(rule, _SEQUENCES):
		for item in rule:
			if isinstance(item, _CONTAINERS):
				_refuse_unknown(item)


def _is_logic(value: Any) -> bool:
	if isinstance(value, dict) and len(value) == 1:
		return True
	return isinstance(value, list | tuple) and any(_is_logic(v) for v in value)


def _validate(rule: Any, where: str, problems: list[str]) -> None:
	at = f" at {where}" if where else ""
	if rule is None or isinstance(rule, bool | int | str):
		return
	if isinstance(rule, float):
		if not math.isfinite(rule):
			problems.append(f"{rule!r}{at} is not a JSON number")
		return
	if isinstance(rule, list):
		for i, item in enumerate(rule):
			_validate(item, f"{where}[{i}]", problems)
		return
	if not isinstance(rule, dict):
		problems.append(f"{type(rule).__name__} value {rule!r}{at} is not JSON")
		return
	if any(not isinstance(k, str) for k in rule):
		problems.append(f"object{at} has keys that are not strings")
		return
	if len(rule) != 1:
		keys = ", ".join(sorted(rule)) or "none"
		problems.append(f"object{at} has keys {keys}: an operation has exactly one key, its operator")
		for key, value in rule.items():
			_validate(value, f"{where}.{key}" if where else key, problems)
		return
	((operator, values),) = rule.items()
	here = f"{where}.{operator}" if where else operator
	if operator in FORBIDDEN_OPERATORS:
		problems.append(f"operator {operator!r}{at} is not allowed")
	elif operator not in KNOWN_OPERATORS:
		problems.append(f"unknown operator {operator!r}{at}")
	elif isinstance(values, list) and operator in ARITY:
		fewest, most = ARITY[operator]
		if not fewest <= len(values) <= most:
			expected = str(fewest) if fewest == most else f"{fewest} to {most}"
			problems.append(f"operator {operator!r}{at} takes {expected} arguments, not {len(values)}")
	if operator == "reduce" and isinstance(values, list) and len(values) > 2 and _is_logic(values[2]):
		problems.append(f"the initial value of 'reduce'{at} must be a plain value, not an operation")
	_validate(values, here, problems)


def _collect(rule: Any, found: set[str]) -> None:
	if isinstance(rule, list | tuple):
		for item in rule:
			_collect(item, found)
		return
	if not (isinstance(rule, dict) and len(rule) == 1):
		return
	((operator, values),) = rule.items()
	args = values if isinstance(values, list) else [values]
	if operator == "var":
		if args and isinstance(args[0], str | int) and not isinstance(args[0], bool) and args[0] != "":
			found.add(str(args[0]))
		else:
			_collect(args[:1], found)
		_collect(args[1:], found)
	elif operator == "missing":
		names = args[0] if args and isinstance(args[0], list) else args
		_collect_names(names, found)
	elif operator == "missing_some":
		_collect(args[:1], found)
		names = args[1] if len(args) > 1 else []
		_collect_names(names if isinstance(names, list) else [names], found)
	elif operator in SCOPED_OPERATORS:
		_collect(args[:1], found)  # the per-element logic (args[1]) reads the element
		_collect(args[2:], found)
	else:
		_collect(args, found)


def _collect_names(names: Any, found: set[str]) -> None:
	if not isinstance(names, list):
		_collect(names, found)
		return
	for name in names:
		if isinstance(name, str) and name:
			found.add(name)
		else:
			_collect(name, found)


def _describe(error: Exception) -> str:
	if isinstance(error, ZeroDivisionError):
		return "division by zero"
	if isinstance(error, RecursionError):
		return "the rule is nested too deeply"
	return str(error) or type(error).__name__


condition_operators.register()
