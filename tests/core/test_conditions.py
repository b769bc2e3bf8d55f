import json
from datetime import date, datetime

import json_logic
import pytest

from gigafibre_fsm.core.condition_operators import loose_equal
from gigafibre_fsm.core.conditions import (
	KNOWN_OPERATORS,
	evaluate,
	matches,
	validate_rule,
	variables,
)
from gigafibre_fsm.core.errors import InvalidInput

NOW = "2026-11-25 10:00:00"


def official_cases(shared_dir):
	path = shared_dir / "data" / "jsonlogic_tests.json"
	if not path.exists():
		pytest.skip(f"the official JsonLogic test suite is absent: looked for {path}")
	return [case for case in json.loads(path.read_text()) if isinstance(case, list)]


def same(got, expected):
	"""JSON equality: 1 == 1.0, but a boolean is never a number."""
	if isinstance(expected, list):
		return isinstance(got, list) and len(got) == len(expected) and all(map(same, got, expected))
	if isinstance(expected, dict):
		return (
			isinstance(got, dict)
			and got.keys() == expected.keys()
			and all(same(got[k], expected[k]) for k in got)
		)
	return isinstance(got, bool) == isinstance(expected, bool) and got == expected


def test_the_official_jsonlogic_suite(shared_dir):
	cases = official_cases(shared_dir)
	assert len(cases) == 277
	failures = []
	for rule, data, expected in cases:
		if rule is None:
			# The one chosen difference: no rule means "no condition", which holds.
			assert evaluate(rule, data) is True
			continue
		try:
			got = evaluate(rule, data)
		except Exception as e:
			got = f"{type(e).__name__}: {e}"
		if not same(got, expected):
			failures.append(f"{json.dumps(rule)} with {json.dumps(data)}: expected {expected!r}, got {got!r}")
	assert failures == []


def test_no_rule_means_no_condition():
	assert evaluate(None, {"a": 1}) is True
	assert evaluate({}, {}) is True
	assert matches(None)


def test_realistic_flow_conditions():
	data = {
		"doc": {"contract_type": "Residential", "monthly_price": "49.95", "status": "Signé"},
		"now": NOW,
	}
	rule = {
		"and": [
			{"==": [{"var": "doc.contract_type"}, "Residential"]},
			{">": [{"var": "doc.monthly_price"}, 0]},
			{"in_list": [{"var": "doc.status"}, ["Signé", "Actif"]]},
		]
	}
	assert evaluate(rule, data) is True
	data["doc"]["contract_type"] = "Commercial"
	assert evaluate(rule, data) is False
	assert matches({"missing": ["doc.email"]}, data)
	assert not matches({"missing": ["doc.status"]}, data)


@pytest.mark.parametrize(
	"rule",
	[
		{"method": ["abc", "upper"]},
		{"method": [{"var": "doc"}, "__class__"]},
		{"log": "hello"},
		{"count": [1, 2]},
		{"datetime.datetime.now": []},
		{"and": [True, {"if": [True, {"method": ["x", "upper"]}]}]},
		{"map": [[1, 2], {"log": {"var": ""}}]},
		{"==": [1, [{"method": [1, "bit_length"]}]]},
	],
)
def test_dangerous_operators_are_refused_before_anything_runs(rule, monkeypatch):
	called = []
	monkeypatch.setitem(json_logic._common_operations, "method", lambda *a: called.append(a))
	monkeypatch.setitem(json_logic._common_operations, "log", lambda *a: called.append(a))
	with pytest.raises(InvalidInput):
		evaluate(rule, {"doc": {}})
	assert called == []
	assert validate_rule(rule)


def test_unknown_operators_are_named():
	with pytest.raises(InvalidInput, match="Unknown operator frobnicate"):
		evaluate({"frobnicate": [1]}, {})
	with pytest.raises(InvalidInput, match="not allowed"):
		evaluate({"method": ["a", "upper"]}, {})
	assert "method" not in KNOWN_OPERATORS and "log" not in KNOWN_OPERATORS
	assert {"var", "substr", "in_list", "date_diff"} <= KNOWN_OPERATORS


def test_data_is_never_evaluated_as_a_rule():
	data = {"x": {"method": ["abc", "upper"]}}
	assert evaluate({"var": "x"}, data) == {"method": ["abc", "upper"]}


def test_library_errors_become_invalid_input():
	with pytest.raises(InvalidInput, match="division by zero"):
		evaluate({"/": [1, 0]}, {})
	with pytest.raises(InvalidInput, match="could not be evaluated"):
		evaluate({"*": ["abc", 2]}, {})
	deep = True
	for _ in range(5000):
		deep = {"!!": [deep]}
	with pytest.raises(InvalidInput):
		evaluate(deep, {})


def test_equality_follows_javascript():
	assert evaluate({"==": [1, "1"]}) is True
	assert evaluate({"==": [1, "1.0"]}) is True
	assert evaluate({"==": [0, False]}) is True
	assert evaluate({"==": [None, "None"]}) is False
	assert evaluate({"==": [True, "True"]}) is False
	assert evaluate({"==": [None, 0]}) is False
	assert evaluate({"!=": [{"var": "missing"}, "None"]}, {}) is True
	assert evaluate({"<=": [None, "None"]}) is False
	assert evaluate({">=": [2, "2.0"]}) is True
	assert loose_equal([1, 2], "1,2") and not loose_equal([1], [1])


def test_date_add():
	assert evaluate({"date_add": ["2026-01-31", 1, "months"]}) == "2026-02-28"
	assert evaluate({"date_add": ["2026-11-25", -2, "weeks"]}) == "2026-11-11"
	assert evaluate({"date_add": ["2026-11-25", 36, "hours"]}) == "2026-11-26 12:00:00"
	assert evaluate({"date_add": ["2026-11-25T10:00:00-05:00", 90, "minutes"]}) == "2026-11-25 11:30:00-05:00"
	assert evaluate({"date_add": [{"var": "now"}, 1, "day"]}, {"now": datetime(2026, 11, 25, 8)}) == (
		"2026-11-26 08:00:00"
	)
	assert evaluate({"date_add": [date(2026, 2, 28), 1.5, "days"]}) == "2026-03-01 12:00:00"
	assert evaluate({"date_add": [{"var": "doc.start"}, 1, "days"]}, {"doc": {}}) is None
	with pytest.raises(InvalidInput, match="Unknown time unit"):
		evaluate({"date_add": ["2026-11-25", 1, "fortnights"]})
	with pytest.raises(InvalidInput, match="whole number"):
		evaluate({"date_add": ["2026-11-25", 1.5, "months"]})
	with pytest.raises(InvalidInput, match="not a valid date"):
		evaluate({"date_add": ["25/11/2026", 1, "days"]})


def test_date_diff_is_b_minus_a():
	data = {"now": NOW, "doc": {"signed_on": "2026-11-20"}}
	assert evaluate({"date_diff": [{"var": "doc.signed_on"}, {"var": "now"}, "days"]}, data) == pytest.approx(
		5 + 10 / 24
	)
	assert evaluate({"date_diff": ["2026-11-25", "2026-11-24", "days"]}) == -1
	assert evaluate({"date_diff": ["2026-11-25 10:00", "2026-11-25 10:45", "minutes"]}) == 45
	assert evaluate({"date_diff": ["2026-11-25 10:00", "2026-11-25 11:30", "hours"]}) == 1.5
	assert evaluate({"date_diff": ["2026-01-31", "2026-02-28", "months"]}) == 1
	assert evaluate({"date_diff": ["2026-01-15", "2026-03-14", "months"]}) == 1
	assert evaluate({"date_diff": ["2026-03-31", "2026-01-31", "months"]}) == -2
	assert evaluate({"date_diff": [None, NOW, "days"]}) is None
	with pytest.raises(InvalidInput, match="time zone"):
		evaluate({"date_diff": ["2026-11-25T10:00:00-05:00", NOW, "hours"]})
	# a week-old signature without activation: the overdue check of a flow
	rule = {">=": [{"date_diff": [{"var": "doc.signed_on"}, {"var": "now"}, "days"]}, 7]}
	assert evaluate(rule, data) is False
	assert evaluate(rule, {**data, "now": "2026-11-27T00:00:00"}) is True


def test_before_and_after():
	assert evaluate({"before": ["2026-11-24", {"var": "now"}]}, {"now": NOW}) is True
	assert evaluate({"after": ["2026-11-25", "2026-11-25 00:00:00"]}) is False
	assert evaluate({"after": [datetime(2026, 11, 25, 0, 1), date(2026, 11, 25)]}) is True
	assert evaluate({"before": [None, NOW]}) is False
	assert evaluate({"after": [{"var": "nothing"}, NOW]}, {}) is False


def test_in_list():
	assert evaluate({"in_list": ["Actif", ["Actif", "Signé"]]}) is True
	assert evaluate({"in_list": ["actif", ["Actif", "Signé"]]}) is False
	assert evaluate({"in_list": [2, [1, 2.0, 3]]}) is True
	assert evaluate({"in_list": ["2", [1, 2, 3]]}) is False
	assert evaluate({"in_list": [True, [1]]}) is False
	assert evaluate({"in_list": [{"var": "s"}, {"var": "allowed"}]}, {"s": 5}) is False
	with pytest.raises(InvalidInput, match="needs a list"):
		evaluate({"in_list": ["a", "abc"]})


def test_blank_and_starts_with():
	for value in (None, "", "  ", [], {}):
		assert evaluate({"blank": [value]}) is True, value
	for value in (0, False, "x", [0]):
		assert evaluate({"blank": [value]}) is False, value
	assert evaluate({"blank": {"var": "doc.email"}}, {"doc": {}}) is True
	assert evaluate({"starts_with": ["J7A 1B2", ["J7A", "J7B"]]}) is True
	assert evaluate({"starts_with": ["H2X 1Y4", "J"]}) is False
	assert evaluate({"starts_with": [None, "J"]}) is False


def test_validate_rule_walks_everything():
	assert validate_rule(None) == []
	assert validate_rule({"and": [{"==": [{"var": "a"}, 1]}, {"in_list": [{"var": "b"}, [1, 2]]}]}) == []
	problems = validate_rule(
		{
			"and": [
				{"a": 1, "b": 2},
				{"or": [{"method": ["x", "upper"]}, {"frob": []}]},
				{"?:": [1, 2]},
				{"==": [date(2026, 1, 1), 1]},
				{"==": [float("nan"), 1]},
				{"reduce": [[1], {"var": "current"}, {"var": "x"}]},
			]
		}
	)
	assert len(problems) == 7, problems
	text = "\n".join(problems)
	for expected in ("keys a, b", "'method'", "'frob'", "'?:'", "takes 3 arguments", "date", "nan", "reduce"):
		assert expected in text
	assert "and[1].or[0]" in text
	assert validate_rule([{"log": 1}, 2]) == ["operator 'log' at [0] is not allowed"]
	assert validate_rule({"var": "x", "extra": 1})


def test_reduce_with_an_operation_as_initial_value_is_refused():
	rule = {"reduce": [[1, 2], {"+": [{"var": "accumulator"}, {"var": "current"}]}, {"var": "start"}]}
	with pytest.raises(InvalidInput, match="initial value"):
		evaluate(rule, {"start": 10})
	assert evaluate({**rule, "reduce": [*rule["reduce"][:2], 10]}) == 13


def test_variables():
	rule = {
		"and": [
			{"var": "doc.status"},
			{"var": ["doc.total", 0]},
			{"missing": ["doc.email", "doc.phone"]},
			{"missing_some": [1, ["customer.mobile", "customer.phone"]]},
			{"some": [{"var": "doc.items"}, {"==": [{"var": "qty"}, 0]}]},
			{"var": 1},
			{"var": ""},
			{"date_diff": [{"var": "doc.signed_on"}, {"var": "now"}, "days"]},
		]
	}
	assert variables(rule) == {
		"doc.status",
		"doc.total",
		"doc.email",
		"doc.phone",
		"customer.mobile",
		"customer.phone",
		"doc.items",
		"1",
		"doc.signed_on",
		"now",
	}
	assert variables(None) == set()
	assert variables({"missing": {"merge": ["a", {"if": [{"var": "f"}, "b", []]}]}}) == {"f"}
