"""Every seeded system template is valid for the engine, and the catalog covers what the issue asks."""

import pytest

from gigafibre_fsm.core import conditions, templating
from gigafibre_fsm.core.flows.catalog import (
	ACCOUNT_LINK,
	AGENT_KINDS,
	APPLIES_TO,
	BUILTIN_KINDS,
	CONTEXT_ROOTS,
	CREATE_DISPATCH_JOB,
	PAYMENT_LINK,
	PROJECT_KINDS,
	TRIGGER_EVENT_LABELS,
	TRIGGER_EVENTS,
	check_config,
)
from gigafibre_fsm.core.flows.graph import validate
from gigafibre_fsm.core.flows.seeds import SEEDS


@pytest.mark.parametrize("seed", SEEDS, ids=[s["seed_key"] for s in SEEDS])
def test_seed_is_valid(seed):
	problems = validate(
		seed["steps"],
		kinds=BUILTIN_KINDS | {k.name: k for k in (CREATE_DISPATCH_JOB, PAYMENT_LINK, ACCOUNT_LINK)},
		check_condition=conditions.validate_rule,
		check_config=check_config,
		check_placeholders=lambda cfg: templating.check_paths(cfg, CONTEXT_ROOTS | {"address"}),
	)
	assert [p.message for p in problems] == []
	assert seed["applies_to"] in APPLIES_TO
	assert seed["trigger_event"] in TRIGGER_EVENTS
	kinds = PROJECT_KINDS if seed["category"] == "Project" else AGENT_KINDS
	assert seed["kind"] in kinds
	if seed.get("trigger_condition"):
		assert conditions.validate_rule(seed["trigger_condition"]) == []


def test_the_five_projects_and_the_agents():
	projects = {s["kind"] for s in SEEDS if s["category"] == "Project"}
	assert projects == {
		"residential_installation",
		"commercial_installation",
		"repair",
		"relocation",
		"voip_activation",
	}
	agents = {s["kind"] for s in SEEDS if s["category"] == "Agent"}
	assert {"post_signature_ack", "repair_follow_up"} <= agents


def test_installation_conditions_split_by_contract_type():
	by_key = {s["seed_key"]: s for s in SEEDS}
	residential = {"doc": {"contract_type": "Residential"}}
	commercial = {"doc": {"contract_type": "Commercial"}}
	assert conditions.matches(by_key["residential_installation"]["trigger_condition"], residential)
	assert not conditions.matches(by_key["residential_installation"]["trigger_condition"], commercial)
	assert conditions.matches(by_key["commercial_installation"]["trigger_condition"], commercial)


def test_installation_seeds_create_a_job_chain():
	for key in ("residential_installation", "commercial_installation"):
		seed = next(s for s in SEEDS if s["seed_key"] == key)
		jobs = [s for s in seed["steps"] if s["kind"] == "create_dispatch_job"]
		assert len(jobs) == 2
		root, follower = jobs
		assert follower["config"]["chain_root_step"] == root["step_id"]
		assert follower["config"]["after_steps"] == [root["step_id"]]
		assert {j["config"]["chain_kind"] for j in jobs} == {"Installation"}


def test_every_trigger_event_has_a_label_for_the_editor():
	assert list(TRIGGER_EVENT_LABELS) == list(TRIGGER_EVENTS)
	assert all(label and label not in TRIGGER_EVENTS for label in TRIGGER_EVENT_LABELS.values())
