import pytest

from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.core.flows.catalog import BUILTIN_KINDS, check_config
from gigafibre_fsm.core.flows.graph import (
	Tree,
	depends_on_labels,
	finished_groups,
	is_plain_chain,
	ready,
	reorder,
	validate,
)


def S(sid, label=None, kind="wait", parent=None, deps=(), config=None, condition=None):
	return {
		"step_id": sid,
		"label": label or f"Label {sid}",
		"kind": kind,
		"parent_step": parent,
		"depends_on": list(deps),
		"config": config if config is not None else {"delay_minutes": 1},
		"condition": condition,
	}


def problems(steps, **kw):
	return [p.message for p in validate(steps, kinds=BUILTIN_KINDS, check_config=check_config, **kw)]


def test_a_valid_tree_has_no_problems():
	steps = [
		S("s1", "Sign"),
		S("s2", "Prepare", kind="group", config={}, deps=["s1"]),
		S("s3", "Order ONT", parent="s2"),
		S("s4", "Book tech", parent="s2", deps=["s3"]),
		S("s5", "Close", deps=["s2"]),
	]
	assert problems(steps) == []


def test_messages_name_steps_by_label():
	steps = [S("s1", "Sign"), S("s1", "Dup"), S("s3", "Call", deps=["s9"])]
	msgs = problems(steps)
	assert "Step id s1 is used twice" in msgs
	assert "Step 'Call' depends on an unknown step 's9'" in msgs


def test_cycles_are_named_by_label():
	steps = [S("s1", "A", deps=["s3"]), S("s2", "B", deps=["s1"]), S("s3", "C", deps=["s2"])]
	(msg,) = problems(steps)
	assert msg.startswith("Steps depend on each other in a loop:")
	assert all(x in msg for x in ("A", "B", "C"))


def test_depending_on_own_group_or_descendant_is_refused():
	steps = [
		S("g", "Group", kind="group", config={}),
		S("c", "Child", parent="g", deps=["g"]),
	]
	assert any("its own group 'Group'" in m for m in problems(steps))
	steps = [S("g", "Group", kind="group", config={}, deps=["c"]), S("c", "Child", parent="g")]
	assert any("which is inside it" in m for m in problems(steps))


def test_cross_branch_loop_through_groups_is_found():
	# g1's child waits for g2 to finish, g2's child waits for g1 to finish: deadlock.
	steps = [
		S("g1", "G1", kind="group", config={}),
		S("a", "A", parent="g1", deps=["g2"]),
		S("g2", "G2", kind="group", config={}),
		S("b", "B", parent="g2", deps=["g1"]),
	]
	assert any("loop" in m for m in problems(steps))


def test_unknown_kind_bad_config_and_children_of_a_non_group():
	steps = [
		S("s1", "X", kind="teleport"),
		S("s2", "Wait", config={"delay_minutes": "soon"}),
		S("s3", "SMS", kind="send_sms", config={"to": "x"}),
		S("s4", "In wait", parent="s2"),
	]
	msgs = problems(steps)
	assert "Step 'X' has an unknown kind 'teleport'" in msgs
	assert "Step 'Wait': config.delay_minutes must be of type integer" in msgs
	assert "Step 'SMS': config.body is required" in msgs
	assert "Step 'Wait' has child steps but is not a group" in msgs


def test_condition_and_placeholder_checks_are_called():
	steps = [S("s1", "A", condition={"bogus": [1]}, config={"delay_minutes": 1})]
	msgs = problems(steps, check_condition=lambda rule: ["unknown operator bogus"] if "bogus" in rule else [])
	assert msgs == ["Step 'A' condition: unknown operator bogus"]


def test_check_config_allows_placeholders_and_rejects_unknown_keys():
	schema = BUILTIN_KINDS["wait"].schema
	assert check_config(schema, {"delay_minutes": "{{doc.delay}}"}) == []
	assert check_config(schema, {"delai": 3}) == ["config.delai is not a known setting"]
	assert check_config(schema, {"delay_minutes": -1}) == ["config.delay_minutes must be at least 0"]
	assert check_config(BUILTIN_KINDS["webhook"].schema, {"url": "u", "method": "GET"}) == [
		"config.method must be one of POST, PUT"
	]


def test_readiness_follows_dependencies_and_groups():
	steps = [
		S("s1"),
		S("g", kind="group", config={}, deps=["s1"]),
		S("a", parent="g"),
		S("b", parent="g", deps=["a"]),
		S("s2", deps=["g"]),
	]
	tree = Tree(steps)
	assert ready(tree, {}) == ["s1"]
	assert ready(tree, {"s1": "Completed"}) == ["g"]
	assert ready(tree, {"s1": "Completed", "g": "Running"}) == ["a"]
	assert ready(tree, {"s1": "Skipped", "g": "Running", "a": "Skipped"}) == ["b"]
	states = {"s1": "Completed", "g": "Running", "a": "Completed", "b": "Completed"}
	assert finished_groups(tree, states, BUILTIN_KINDS) == ["g"]
	assert ready(tree, {**states, "g": "Completed"}) == ["s2"]
	assert ready(tree, {"s1": "Failed"}) == []


def chain():
	return [S("s1", "A"), S("s2", "B", deps=["s1"]), S("s3", "C", deps=["s2"]), S("s4", "D", deps=["s3"])]


def deps_of(steps):
	return {s.step_id: s.depends_on for s in steps}


def test_reorder_rewrites_a_plain_chain():
	new = reorder(chain(), "s4", 0)
	assert [s.step_id for s in new] == ["s4", "s1", "s2", "s3"]
	assert deps_of(new) == {"s4": [], "s1": ["s4"], "s2": ["s1"], "s3": ["s2"]}
	assert is_plain_chain(Tree(new), ["s4", "s1", "s2", "s3"])


def test_reorder_keeps_a_real_dag():
	steps = [S("s1", "A"), S("s2", "B"), S("s3", "C", deps=["s1", "s2"]), S("s4", "D", deps=["s1"])]
	new = reorder(steps, "s3", 0)
	assert [s.step_id for s in new] == ["s3", "s1", "s2", "s4"]
	assert deps_of(new) == {"s1": [], "s2": [], "s3": ["s1", "s2"], "s4": ["s1"]}


def test_reorder_moves_only_among_peers_and_keeps_outside_deps():
	steps = [
		S("s0", "Start"),
		S("g", "G", kind="group", config={}),
		S("a", "A", parent="g", deps=["s0"]),
		S("b", "B", parent="g", deps=["a"]),
		S("c", "C", parent="g", deps=["b"]),
		S("z", "End", deps=["g"]),
	]
	new = reorder(steps, "c", 0)
	assert [s.step_id for s in new] == ["s0", "g", "c", "a", "b", "z"]
	assert deps_of(new) == {"s0": [], "g": [], "c": [], "a": ["s0", "c"], "b": ["a"], "z": ["g"]}
	assert validate(new, kinds=BUILTIN_KINDS) == []


def test_reorder_unknown_step():
	with pytest.raises(InvalidInput):
		reorder(chain(), "s9", 0)


def test_depends_on_rendered_as_labels():
	assert depends_on_labels(chain())["s3"] == ["B"]
