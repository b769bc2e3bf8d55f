"""Chained jobs: dependencies, unblocking, and what completing an installation chain does.

A chain is a set of Dispatch Jobs (same parent, ordered by step) where a job may
depend on others (``depends_on``). Rules:

- a job cannot start (En Route / On Site) nor be completed while one of its
  predecessors is not Completed. A Cancelled predecessor still blocks: the
  dispatcher removes the dependency explicitly rather than have work start on an
  unfinished base;
- completing a job unblocks the dependents whose predecessors are now all
  Completed;
- a chain is complete when every job in it is Completed or Cancelled and at
  least one is Completed. Completing the last job of an *Installation* chain
  activates the customer's pending ("En attente") subscriptions from the next
  day and bills the rest of that month on one prorated invoice.

Proration: the activation day (the completion date) is free; billing starts the
next day, ``start``, and runs to the last day of ``start``'s month inclusive::

	amount = monthly_rate × days / days_in_month   (rounded half-up to cents)
	days   = last_day_of_month(start) - start + 1

e.g. completed on November 23 → active from November 24 → November 24..30 =
7 days of a 30-day month → 39.95 × 7/30 = 9.3217 → 9.32. A chain completed on
the last day of a month starts on the 1st of the next one and its invoice covers
that whole month (days = days_in_month); the regular monthly billing takes over
from the month after.

Idempotence comes from plain state, not memory: only subscriptions still "En
attente" are activated and the invoice is planned only when ``invoice_issued``
is false, so a completion submitted twice plans nothing the second time.
:func:`complete_job` returns a plan; the caller applies it in one transaction.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from gigafibre_fsm.core.billing.periods import period_for
from gigafibre_fsm.core.billing.proration import prorate as billing_prorate
from gigafibre_fsm.core.contracts import money
from gigafibre_fsm.core.dispatch.status import CANCELLED, COMPLETED, TRANSITIONS, normalise_status
from gigafibre_fsm.core.errors import Conflict, IllegalTransition, InvalidInput

INSTALLATION = "Installation"
PENDING_SUBSCRIPTION = "En attente"


@dataclass(frozen=True, slots=True)
class ChainJob:
	id: str
	status: str = "Draft"
	depends_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChainSubscription:
	"""A customer subscription the installation chain is for; ``monthly_rate`` is before taxes."""

	id: str
	monthly_rate: Decimal | float | str
	status: str = PENDING_SUBSCRIPTION
	item: str | None = None


@dataclass(frozen=True, slots=True)
class Activation:
	subscription: str
	start_date: date


@dataclass(frozen=True, slots=True)
class ProratedLine:
	subscription: str
	item: str | None
	monthly_rate: Decimal
	period_start: date
	period_end: date
	days: int
	days_in_month: int
	amount: Decimal


@dataclass(frozen=True, slots=True)
class ProratedInvoice:
	posting_date: date
	lines: tuple[ProratedLine, ...]

	@property
	def total(self) -> Decimal:
		return sum((line.amount for line in self.lines), Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class CompletionPlan:
	"""What completing ``job`` requires the caller to do (nothing to do is a valid plan)."""

	job: str
	already_completed: bool
	unblocked: tuple[str, ...] = ()
	chain_complete: bool = False
	activations: tuple[Activation, ...] = ()
	invoice: ProratedInvoice | None = None


def _by_id(jobs: Iterable[ChainJob]) -> dict[str, ChainJob]:
	index: dict[str, ChainJob] = {}
	for job in jobs:
		if job.id in index:
			raise InvalidInput("Job {0} appears twice in the chain", job.id)
		index[job.id] = job
	return index


def validate_chain(jobs: Iterable[ChainJob]) -> None:
	"""Every dependency names a job of the chain and there is no cycle."""
	index = _by_id(jobs)
	for job in index.values():
		for dep in job.depends_on:
			if dep not in index:
				raise InvalidInput("Job {0} depends on unknown job {1}", job.id, dep)
	state: dict[str, int] = {}  # 1 = on the current path, 2 = done

	def visit(job_id: str, path: list[str]) -> None:
		if state.get(job_id) == 2:
			return
		if state.get(job_id) == 1:
			cycle = [*path[path.index(job_id) :], job_id]
			raise InvalidInput("The jobs of a chain depend on each other in a cycle: {0}", " → ".join(cycle))
		state[job_id] = 1
		for dep in index[job_id].depends_on:
			visit(dep, [*path, job_id])
		state[job_id] = 2

	for job_id in index:
		visit(job_id, [])


def pending_predecessors(job_id: str, jobs: Iterable[ChainJob]) -> list[str]:
	"""Ids of the jobs ``job_id`` depends on that are not Completed."""
	index = _by_id(jobs)
	if job_id not in index:
		raise InvalidInput("Job {0} is not in the chain", job_id)
	return [
		dep
		for dep in index[job_id].depends_on
		if dep not in index or normalise_status(index[dep].status) != COMPLETED
	]


def check_can_start(job_id: str, jobs: Iterable[ChainJob]) -> None:
	"""Raise Conflict when the job's predecessors are not all Completed."""
	waiting = pending_predecessors(job_id, jobs)
	if waiting:
		raise Conflict(
			"This job cannot start before these jobs are completed: {0}", ", ".join(sorted(waiting))
		)


def unblocked_by(completed: str, jobs: Iterable[ChainJob]) -> list[str]:
	"""Open jobs that depend on ``completed`` and have nothing else pending once it is Completed."""
	index = _by_id(jobs)
	done = {j.id for j in index.values() if normalise_status(j.status) == COMPLETED} | {completed}
	return [
		job.id
		for job in index.values()
		if completed in job.depends_on
		and normalise_status(job.status) not in (COMPLETED, CANCELLED)
		and all(dep in done for dep in job.depends_on)
	]


def chain_complete(jobs: Iterable[ChainJob]) -> bool:
	"""Every job Completed or Cancelled, and at least one Completed."""
	statuses = [normalise_status(j.status) for j in jobs]
	return COMPLETED in statuses and all(s in (COMPLETED, CANCELLED) for s in statuses)


def prorate(monthly_rate: Decimal | float | str, start: date) -> tuple[int, int, Decimal]:
	"""(days billed, days in the month, amount) from ``start`` to the end of its month.

	The billing rule (core/billing/proration.py) over the calendar month, a monthly period on
	billing day 1: the regular billing prorates with the same function.
	"""
	month = period_for("Monthly", 1, start)
	charge = billing_prorate(monthly_rate, "Monthly", month, start, month.end)
	return charge.days, charge.period_days, charge.amount


def activation_plan(
	completed_on: date, subscriptions: Sequence[ChainSubscription], *, invoice_issued: bool
) -> tuple[tuple[Activation, ...], ProratedInvoice | None]:
	"""Activations from the next day for pending subscriptions, and the prorated invoice if not issued yet."""
	start = completed_on + timedelta(days=1)
	pending = [s for s in subscriptions if s.status == PENDING_SUBSCRIPTION]
	activations = tuple(Activation(s.id, start) for s in pending)
	if invoice_issued or not pending:
		return activations, None
	end = date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
	lines = []
	for sub in pending:
		days, days_in_month, amount = prorate(sub.monthly_rate, start)
		lines.append(
			ProratedLine(sub.id, sub.item, money(sub.monthly_rate), start, end, days, days_in_month, amount)
		)
	return activations, ProratedInvoice(completed_on, tuple(lines))


def complete_job(
	jobs: Sequence[ChainJob],
	job_id: str,
	*,
	completed_on: date,
	chain_kind: str = INSTALLATION,
	subscriptions: Sequence[ChainSubscription] = (),
	invoice_issued: bool = False,
) -> CompletionPlan:
	"""Plan the consequences of completing ``job_id`` (statuses in ``jobs`` are as before it).

	``completed_on`` is the local date of completion (the free activation day).
	Raises Conflict when a predecessor is not Completed and IllegalTransition when
	the job cannot be completed from its status (only On Site can).
	"""
	validate_chain(jobs)
	index = _by_id(jobs)
	if job_id not in index:
		raise InvalidInput("Job {0} is not in the chain", job_id)
	current = normalise_status(index[job_id].status)
	already = current == COMPLETED
	if not already:
		check_can_start(job_id, jobs)
		if COMPLETED not in TRANSITIONS[current]:
			raise IllegalTransition("A dispatch job cannot go from {0} to {1}", current, COMPLETED)
	after = [ChainJob(j.id, COMPLETED, j.depends_on) if j.id == job_id else j for j in jobs]
	complete = chain_complete(after)
	activations: tuple[Activation, ...] = ()
	invoice = None
	if complete and chain_kind == INSTALLATION:
		activations, invoice = activation_plan(completed_on, subscriptions, invoice_issued=invoice_issued)
	return CompletionPlan(
		job=job_id,
		already_completed=already,
		unblocked=() if already else tuple(unblocked_by(job_id, after)),
		chain_complete=complete,
		activations=activations,
		invoice=invoice,
	)
