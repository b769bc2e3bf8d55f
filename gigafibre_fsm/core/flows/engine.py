"""Advance a flow run: start what is ready, record what each step did, decide the run's status.

Pure: the caller passes ``now``, a condition evaluator and an ``execute`` callback
that performs one step and returns an Outcome. The Frappe layer holds the run's
row lock around ``advance`` and saves the states it returns.

Retries: an execute that raises, or returns ``Outcome.retry``, is retried with
exponential backoff (``backoff_minutes * 2**(attempt-1)``, capped) until
``max_attempts``; then the step is Failed, the run is Failed and every step not
yet finished is Cancelled. A step Waiting with an ``error`` is waiting for a
retry; without one it is waiting on its own terms (a delay, a date, a condition,
an approval) and re-running it is not a new attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gigafibre_fsm.core.flows.graph import ACTIVE, TERMINAL, Step, Tree, finished_groups, ready


@dataclass
class StepState:
	step_id: str
	status: str = "Pending"
	attempts: int = 0
	output: dict | None = None
	error: str | None = None
	wake_at: datetime | None = None
	started_at: datetime | None = None
	finished_at: datetime | None = None


@dataclass
class Outcome:
	status: str  # Completed | Waiting | Retry | Failed
	output: dict | None = None
	wake_at: datetime | None = None
	error: str | None = None

	@classmethod
	def done(cls, output: dict | None = None) -> Outcome:
		return cls("Completed", output=output)

	@classmethod
	def wait(cls, until: datetime, output: dict | None = None) -> Outcome:
		return cls("Waiting", output=output, wake_at=until)

	@classmethod
	def retry(cls, error: str) -> Outcome:
		return cls("Retry", error=error)

	@classmethod
	def fail(cls, error: str) -> Outcome:
		"""A failure that retrying cannot fix (bad config, refused input)."""
		return cls("Failed", error=error)


@dataclass
class RunResult:
	status: str
	next_wake_at: datetime | None
	events: list[dict] = field(default_factory=list)
	error: str | None = None


def backoff(attempt: int, base_minutes: float = 1.0, cap_minutes: float = 60.0) -> timedelta:
	return timedelta(minutes=min(cap_minutes, base_minutes * 2 ** max(0, attempt - 1)))


def advance(
	steps: list[Step | dict],
	states: dict[str, StepState],
	*,
	kinds: dict,
	now: datetime,
	condition_holds: Callable[[Step], bool],
	execute: Callable[[Step, StepState], Outcome],
	max_attempts: int = 3,
	backoff_minutes: float = 1.0,
	max_rounds: int = 1000,
) -> RunResult:
	"""Run every step that can run now; mutate ``states``; return the run's new status."""
	tree = Tree(steps)
	for sid in tree.by_id:
		states.setdefault(sid, StepState(sid))
	events: list[dict] = []

	def set_status(sid: str, status: str, **changes):
		st = states[sid]
		st.status = status
		for k, v in changes.items():
			setattr(st, k, v)
		if status in TERMINAL:
			st.finished_at = now
			st.wake_at = None
		events.append({"step_id": sid, "status": status, "attempts": st.attempts, "error": st.error})

	def fail_run(error: str) -> RunResult:
		for sid, st in states.items():
			if st.status not in TERMINAL:
				set_status(sid, "Cancelled")
		return RunResult("Failed", None, events, error)

	for _ in range(max_rounds):
		failed = [sid for sid, st in states.items() if st.status == "Failed"]
		if failed:
			return fail_run(f"Step '{tree.label(failed[0])}' failed: {states[failed[0]].error or ''}".strip())
		statuses = {sid: st.status for sid, st in states.items()}
		for gid in finished_groups(tree, statuses, kinds):
			set_status(gid, "Completed")
		statuses = {sid: st.status for sid, st in states.items()}
		due = [
			sid
			for sid in tree.order()
			if statuses[sid] == "Waiting" and (states[sid].wake_at is None or states[sid].wake_at <= now)
		]
		todo = ready(tree, statuses) + due
		if not todo:
			break
		for sid in todo:
			step, st = tree.by_id[sid], states[sid]
			if st.status == "Pending":
				try:
					holds = condition_holds(step)
				except Exception as e:
					set_status(sid, "Failed", error=f"Condition could not be evaluated: {e}")
					break
				if not holds:
					for skipped in [sid, *tree.descendants(sid)]:
						if states[skipped].status == "Pending":
							set_status(skipped, "Skipped")
					continue
				kind = kinds.get(step.kind)
				if kind and kind.is_group:
					set_status(sid, "Running", started_at=now)
					continue
				st.attempts += 1
				st.started_at = now
			elif st.error:  # a retry that is due
				st.attempts += 1
			st.status = "Running"
			try:
				outcome = execute(step, st)
			except Exception as e:
				outcome = Outcome.retry(f"{type(e).__name__}: {e}")
			_apply(outcome, sid, st, set_status, now, max_attempts, backoff_minutes)
			if states[sid].status == "Failed":
				break
	else:
		return fail_run("The run did not settle (too many rounds)")

	statuses = {sid: st.status for sid, st in states.items()}
	if any(s == "Failed" for s in statuses.values()):
		failed = next(sid for sid, s in statuses.items() if s == "Failed")
		return fail_run(f"Step '{tree.label(failed)}' failed: {states[failed].error or ''}".strip())
	if all(s in TERMINAL for s in statuses.values()):
		return RunResult("Completed", None, events)
	waits = [st.wake_at for st in states.values() if st.status == "Waiting"]
	if waits:
		known = [w for w in waits if w is not None]
		return RunResult("Waiting", min(known) if known else None, events)
	if any(s in ACTIVE for s in statuses.values()):
		return RunResult("Running", None, events)
	stuck = [tree.label(sid) for sid, s in statuses.items() if s == "Pending"]
	return fail_run(f"Steps can never start: {', '.join(stuck)}")


def _apply(outcome: Outcome, sid, st: StepState, set_status, now, max_attempts, backoff_minutes):
	if outcome.status == "Completed":
		set_status(sid, "Completed", output=outcome.output, error=None)
	elif outcome.status == "Waiting":
		if outcome.wake_at is None:
			set_status(sid, "Failed", error="A waiting step must say when to wake")
			return
		set_status(sid, "Waiting", output=outcome.output, wake_at=outcome.wake_at, error=None)
	elif outcome.status == "Failed":
		set_status(sid, "Failed", error=outcome.error or "Failed")
	else:  # Retry
		if st.attempts >= max_attempts:
			set_status(sid, "Failed", error=f"{outcome.error} (gave up after {st.attempts} attempts)")
		else:
			set_status(
				sid, "Waiting", error=outcome.error, wake_at=now + backoff(st.attempts, backoff_minutes)
			)


def idempotency_key(run: str, step_id: str, attempt: int) -> str:
	"""The key a side-effect kind passes on (Idempotency-Key header, dedupe of records)."""
	return f"{run}:{step_id}:{attempt}"
