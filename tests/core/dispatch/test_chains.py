from datetime import date
from decimal import Decimal

import pytest

from gigafibre_fsm.core.dispatch.chains import (
	ChainJob,
	ChainSubscription,
	check_can_start,
	complete_job,
	pending_predecessors,
	prorate,
	unblocked_by,
	validate_chain,
)
from gigafibre_fsm.core.errors import Conflict, IllegalTransition, InvalidInput


def installation(**statuses):
	"""survey → (splice, drop) → install: a small DAG, like a residential fibre installation."""
	return [
		ChainJob("survey", statuses.get("survey", "Assigned")),
		ChainJob("splice", statuses.get("splice", "Assigned"), ("survey",)),
		ChainJob("drop", statuses.get("drop", "Assigned"), ("survey",)),
		ChainJob("install", statuses.get("install", "Assigned"), ("splice", "drop")),
	]


SUBS = [
	ChainSubscription("SUB-1", "39.95", item="Internet 100"),
	ChainSubscription("SUB-2", Decimal("10.00"), status="Actif"),
	ChainSubscription("SUB-3", 25, status="Annulé"),
]


def test_predecessors_block_the_start():
	jobs = installation()
	assert pending_predecessors("install", jobs) == ["splice", "drop"]
	assert pending_predecessors("survey", jobs) == []
	with pytest.raises(Conflict, match="drop, splice"):
		check_can_start("install", jobs)
	check_can_start("survey", jobs)
	with pytest.raises(Conflict):
		complete_job(jobs, "install", completed_on=date(2026, 11, 23))


def test_a_cancelled_predecessor_still_blocks():
	jobs = installation(survey="Completed", splice="Completed", drop="Cancelled")
	assert pending_predecessors("install", jobs) == ["drop"]


def test_completing_unblocks_dependents_once_all_their_predecessors_are_done():
	jobs = installation(survey="On Site")
	plan = complete_job(jobs, "survey", completed_on=date(2026, 11, 20))
	assert plan.unblocked == ("splice", "drop") and not plan.chain_complete and plan.invoice is None
	jobs = installation(survey="Completed", splice="On Site")
	plan = complete_job(jobs, "splice", completed_on=date(2026, 11, 21))
	assert plan.unblocked == ()  # install still waits for drop
	jobs = installation(survey="Completed", splice="Completed", drop="On Site")
	assert complete_job(jobs, "drop", completed_on=date(2026, 11, 22)).unblocked == ("install",)
	assert unblocked_by("drop", jobs) == ["install"]


def test_proration_rule():
	# activation on Nov 23 (free) → billed Nov 24..30 = 7 days of 30
	assert prorate("39.95", date(2026, 11, 24)) == (7, 30, Decimal("9.32"))
	assert Decimal("39.95") * 7 / 30 == Decimal("9.321666666666666666666666667")
	# half-up to cents: 10.05 × 15/30 = 5.025 → 5.03
	assert prorate("10.05", date(2026, 11, 16))[2] == Decimal("5.03")
	# a start on the 1st bills the whole month; February has 28 days in 2026
	assert prorate("39.95", date(2026, 12, 1)) == (31, 31, Decimal("39.95"))
	assert prorate("28.00", date(2026, 2, 28)) == (1, 28, Decimal("1.00"))
	with pytest.raises(InvalidInput):
		prorate("-1", date(2026, 1, 1))


def test_completing_the_last_installation_job_activates_and_invoices_once():
	jobs = installation(survey="Completed", splice="Completed", drop="Completed", install="On Site")
	plan = complete_job(jobs, "install", completed_on=date(2026, 11, 23), subscriptions=SUBS)
	assert plan.chain_complete and not plan.already_completed
	assert [(a.subscription, a.start_date) for a in plan.activations] == [("SUB-1", date(2026, 11, 24))]
	(line,) = plan.invoice.lines
	assert (line.subscription, line.item, line.period_start, line.period_end) == (
		"SUB-1",
		"Internet 100",
		date(2026, 11, 24),
		date(2026, 11, 30),
	)
	assert (line.days, line.days_in_month, line.amount) == (7, 30, Decimal("9.32"))
	assert plan.invoice.total == Decimal("9.32") and plan.invoice.posting_date == date(2026, 11, 23)

	# the same completion submitted again, after the first was applied: nothing more to do
	applied = [ChainJob(j.id, "Completed", j.depends_on) for j in jobs]
	activated = [ChainSubscription("SUB-1", "39.95", status="Actif"), *SUBS[1:]]
	again = complete_job(
		applied, "install", completed_on=date(2026, 11, 23), subscriptions=activated, invoice_issued=True
	)
	assert again.already_completed and again.chain_complete
	assert again.activations == () and again.invoice is None and again.unblocked == ()
	# even if the caller only knows the invoice exists, it is never planned twice
	twice = complete_job(
		applied, "install", completed_on=date(2026, 11, 24), subscriptions=SUBS, invoice_issued=True
	)
	assert twice.invoice is None


def test_only_installation_chains_activate_and_cancelled_jobs_do_not_hold_the_chain():
	jobs = [ChainJob("a", "On Site"), ChainJob("followup", "Cancelled")]
	plan = complete_job(jobs, "a", completed_on=date(2026, 11, 23), subscriptions=SUBS)
	assert plan.chain_complete and plan.invoice is not None
	repair = complete_job(jobs, "a", completed_on=date(2026, 11, 23), subscriptions=SUBS, chain_kind="Repair")
	assert repair.chain_complete and repair.activations == () and repair.invoice is None
	assert not complete_job(
		[ChainJob("a", "On Site"), ChainJob("b")], "a", completed_on=date(2026, 11, 23)
	).chain_complete


def test_a_job_must_be_on_site_to_be_completed():
	with pytest.raises(IllegalTransition, match="from Cancelled to Completed"):
		complete_job([ChainJob("a", "Cancelled")], "a", completed_on=date(2026, 11, 23))
	with pytest.raises(IllegalTransition, match="from Draft to Completed"):
		complete_job([ChainJob("a")], "a", completed_on=date(2026, 11, 23))


def test_chain_validation():
	with pytest.raises(InvalidInput, match="unknown job x"):
		validate_chain([ChainJob("a", depends_on=("x",))])
	with pytest.raises(InvalidInput, match="cycle: a → b → a"):
		validate_chain([ChainJob("a", depends_on=("b",)), ChainJob("b", depends_on=("a",))])
	with pytest.raises(InvalidInput, match="twice"):
		validate_chain([ChainJob("a"), ChainJob("a")])
	with pytest.raises(InvalidInput, match="not in the chain"):
		complete_job([ChainJob("a", "On Site")], "b", completed_on=date(2026, 11, 23))
