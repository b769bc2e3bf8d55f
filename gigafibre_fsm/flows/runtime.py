"""Start and advance flow runs inside Frappe.

A run freezes its template's steps when it starts (editing a template never
changes a running run). ``advance_run`` is the only place that executes steps:
it holds a Redis lock per run and the run's row lock, reads the run fresh,
lets the pure engine (gigafibre_fsm.core.flows.engine) decide, saves what each
step did and publishes the changes after commit.
"""

from __future__ import annotations

import hashlib
import json
import threading
from contextlib import contextmanager
from datetime import UTC, datetime

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime

from gigafibre_fsm.core import conditions, templating
from gigafibre_fsm.core.flows.engine import StepState, advance, idempotency_key
from gigafibre_fsm.core.flows.graph import Step
from gigafibre_fsm.flows.context import build_context
from gigafibre_fsm.flows.kinds import StepContext, clear_sms_marks, registry
from gigafibre_fsm.flows.steps import steps_of

RUN = "Flow Run"
TEMPLATE = "Flow Template"
MAX_ATTEMPTS = 3
LOCK_SECONDS = 60  # the run lock's lifetime; renewed every third of it while its holder lives
STALL_SECONDS = 600  # a Pending/Running run untouched this long has lost its job
EVENT = "gigafibre_fsm:flow_run"
JOB_PREFIX = "gigafibre_fsm:flow_run:"


def lock_seconds() -> int:
	"""The run lock's TTL (site config ``gigafibre_flow_lock_seconds``, default 60 s).

	The holder renews it every third of that while it executes, so a long batch keeps it;
	a holder that dies (SIGKILL, OOM, power) lets it lapse within this many seconds.
	"""
	return max(3, int(frappe.conf.get("gigafibre_flow_lock_seconds") or LOCK_SECONDS))


def stall_seconds() -> int:
	"""How long a Pending/Running run may stay untouched before the tick picks it up again
	(site config ``gigafibre_flow_stall_seconds``, default 600 s)."""
	return max(1, int(frappe.conf.get("gigafibre_flow_stall_seconds") or STALL_SECONDS))


def trigger_key(template: str, doctype: str, name: str, event: str, occurrence: str | None) -> str:
	raw = "\x1f".join([template, doctype, name, event, occurrence or ""])
	return hashlib.sha256(raw.encode()).hexdigest()


def start_run(
	template: str,
	reference_doctype: str,
	reference_name: str,
	*,
	event: str = "manual",
	occurrence: str | None = None,
	parent_run: str | None = None,
	enqueue: bool = True,
) -> str:
	"""Create the run for (template, document, event occurrence) once; return its name.

	A second call with the same occurrence returns the existing run instead of a duplicate
	(a unique key on the run enforces it, also between concurrent callers).
	"""
	key = trigger_key(template, reference_doctype, reference_name, event, occurrence)
	existing = frappe.db.get_value(RUN, {"trigger_key": key}, "name")
	if existing:
		return existing
	tpl = frappe.get_cached_doc(TEMPLATE, template)
	steps = steps_of(tpl)  # the frozen copy this run will execute
	run = frappe.new_doc(RUN)
	run.update(
		{
			"template": tpl.name,
			"template_version": tpl.version,
			"reference_doctype": reference_doctype,
			"reference_name": reference_name,
			"trigger_event": event,
			"trigger_key": key,
			"parent_run": parent_run,
			"status": "Pending",
			"steps_snapshot": json.dumps(steps),
		}
	)
	for step in map(Step.from_dict, steps):
		run.append(
			"steps",
			{
				"step_id": step.step_id,
				"label": step.label,
				"kind": step.kind,
				"parent_step": step.parent_step,
				"status": "Pending",
			},
		)
	doc = frappe.get_doc(reference_doctype, reference_name)
	run.context = frappe.as_json(build_context(doc, event=event))
	run.flags.ignore_permissions = True
	try:
		with savepoint("flow_run_insert"):
			run.insert()
	except frappe.DuplicateEntryError:
		return frappe.db.get_value(RUN, {"trigger_key": key}, "name")
	publish(run)
	if enqueue:
		enqueue_advance(run.name)
	return run.name


@contextmanager
def savepoint(name: str):
	frappe.db.savepoint(name)
	try:
		yield
	except Exception:
		frappe.db.rollback(save_point=name)
		raise


def _json_field(value, default):
	if value in (None, ""):
		return default
	if isinstance(value, list | dict):
		return value
	return json.loads(value)


def queue() -> str:
	"""The RQ queue of advance jobs (site config ``gigafibre_flow_queue``, default "default")."""
	return frappe.conf.get("gigafibre_flow_queue") or "default"


def job_id(run: str) -> str:
	return f"{JOB_PREFIX}{run}"


def claim_enqueue(runs: list[str]) -> list[str]:
	"""The runs of ``runs`` not yet enqueued in this transaction, now marked as enqueued.

	The marks last until the transaction ends: a commit pushes the jobs, a rollback drops
	them, and either way the marks go. (A run name rolled back is given again by the naming
	series; it must be enqueued again in the next transaction, as in a retried request.)
	"""
	flags = frappe.local.flags
	pending = flags.get("gigafibre_runs_enqueued")
	if pending is None:
		pending = flags.gigafibre_runs_enqueued = set()
		frappe.db.after_commit.add(_forget_enqueued)
		frappe.db.after_rollback.add(_forget_enqueued)
	new = [r for r in dict.fromkeys(runs) if r not in pending]
	pending.update(new)
	return new


def _forget_enqueued():
	frappe.local.flags.pop("gigafibre_runs_enqueued", None)


def enqueue_advance(run: str, *, recover: bool = False):
	"""One advance job per run: deduplicated against queued jobs and within this transaction.

	``recover`` (the tick): a job that RQ still shows queued or started but whose worker is
	gone (the run lock lapsed, the job is in no queue) is dropped first, so the run gets a
	new job now instead of after RQ's own clean-up (ten minutes or more).
	"""
	if not claim_enqueue([run]):
		return
	if recover:
		drop_dead_job(run)
	frappe.enqueue(
		"gigafibre_fsm.flows.jobs.advance_run",
		queue=queue(),
		timeout=600,
		job_id=job_id(run),
		deduplicate=True,
		enqueue_after_commit=True,
		run=run,
	)


def lock_key(run: str) -> str:
	"""The Redis key of the run lock (it exists while the lock is held)."""
	return frappe.cache.make_key(f"gigafibre_fsm:flow_run_lock:{run}")


def _lock(run: str, timeout: int | None = None):
	# thread_local=False: the heartbeat thread renews the token the executing thread took
	return frappe.cache.lock(lock_key(run), timeout=timeout or lock_seconds(), thread_local=False)


def run_lock_held(run: str) -> bool:
	"""Someone alive executes the run (its lock is held and renewed)."""
	return _lock(run).locked()


def dead_job(run: str, *, now: datetime | None = None):
	"""The run's RQ job if RQ thinks it is queued or started but no live worker has it
	(see :func:`job_is_dead`)."""
	from frappe.utils.background_jobs import get_job

	job = get_job(job_id(run))
	if not job:
		return None
	status = job.get_status()
	in_queue = lock = False
	if status == "started":
		lock = run_lock_held(run)
	elif status == "queued":
		in_queue = job.connection.lpos(f"rq:queue:{job.origin}", job.id) is not None
	return job if job_is_dead(job, status, lock_held=lock, in_queue=in_queue, now=now) else None


def job_is_dead(job, status: str, *, lock_held: bool, in_queue: bool, now: datetime | None = None) -> bool:
	"""Whether a run's job that RQ lists as queued or started has no live worker.

	Started: the run lock is free and the job started more than a lock lifetime ago (a
	live job takes the lock as it starts, or waits for the live holder of it). Queued: the
	job id is in no queue (the worker popped it and died before marking it started).
	"""
	now = now or datetime.now(UTC).replace(tzinfo=None)  # RQ keeps naive UTC
	if status == "started":
		started = job.started_at or job.enqueued_at
		if lock_held or not started:
			return False
		return (now - started.replace(tzinfo=None)).total_seconds() >= lock_seconds()
	if status == "queued":
		if in_queue:
			return False
		enqueued = job.enqueued_at
		# a job just enqueued may be being handed to a worker right now
		return not (enqueued and (now - enqueued.replace(tzinfo=None)).total_seconds() < lock_seconds())
	return False


def drop_dead_job(run: str) -> bool:
	"""Delete the run's job if its worker is gone (see dead_job), so it can be enqueued again."""
	job = dead_job(run)
	if not job:
		return False
	frappe.logger("gigafibre_fsm").warning(
		f"flow run {run}: job {job.id} ({job.get_status()}) has no live worker; enqueued again"
	)
	job.delete()
	return True


class _Heartbeat(threading.Thread):
	"""Renews the run lock every third of its lifetime until stopped (or the process dies)."""

	def __init__(self, lock, ttl: int):
		super().__init__(daemon=True, name="gigafibre-flow-run-lock")
		self.lock, self.ttl = lock, ttl
		self.stopped = threading.Event()
		self.lost = False

	def run(self):
		while not self.stopped.wait(self.ttl / 3):
			try:
				self.lock.reacquire()
			except Exception:
				self.lost = True  # expired or taken over: the row lock still guards the run
				return

	def stop(self):
		self.stopped.set()
		self.join(timeout=5)


@contextmanager
def run_lock(run: str, blocking_timeout: float = 30):
	"""One executor per run across workers and ticks (Redis), plus the run's row lock.

	The Redis lock lives ``lock_seconds()`` and is renewed while its holder runs, so a holder
	killed mid-batch frees it quickly; the row lock (FOR UPDATE, held until the job commits
	or its connection drops) is the guard that never lapses.
	"""
	ttl = lock_seconds()
	lock = _lock(run, ttl)
	if not lock.acquire(blocking_timeout=blocking_timeout):
		yield False
		return
	heartbeat = _Heartbeat(lock, ttl)
	heartbeat.start()
	try:
		# Start a fresh transaction (advance_run is a job entry: what came before is committed):
		# on MariaDB (REPEATABLE READ) the reads below then see what the previous holder of
		# the lock committed.
		frappe.db.commit()
		frappe.db.get_value(RUN, run, "name", for_update=True)
		yield True
	finally:
		heartbeat.stop()
		try:
			lock.release()
		except Exception:
			pass  # expired: the work was committed or rolled back already


def advance_run(run_name: str, *, now=None, blocking_timeout: float = 30) -> str | None:
	"""Execute what is due in one run. Returns the run's status (None if another worker holds it
	for longer than ``blocking_timeout`` seconds; 0: do not wait)."""
	with run_lock(run_name, blocking_timeout) as locked:
		if not locked:
			return None
		run = frappe.get_doc(RUN, run_name)
		if run.status in ("Completed", "Failed", "Cancelled"):
			return run.status
		now = get_datetime(now or now_datetime())
		kinds, handlers = registry()
		steps = [Step.from_dict(s) for s in json.loads(run.steps_snapshot or "[]")]
		rows = {row.step_id: row for row in run.steps}
		states = {sid: _state(row) for sid, row in rows.items()}
		reference = frappe.get_doc(run.reference_doctype, run.reference_name)

		def context():
			outputs = {sid: (st.output or {}) for sid, st in states.items()}
			return build_context(reference, run=run, steps_output=outputs, now=now)

		def condition_holds(step: Step) -> bool:
			return conditions.matches(step.condition, context()) if step.condition else True

		def execute(step: Step, state: StepState):
			ctx = context()
			key = idempotency_key(run.name, step.step_id, state.attempts)
			rows[step.step_id].idempotency_key = key
			config = templating.render(step.config, ctx)
			return handlers[step.kind](
				StepContext(run, step, state, config, ctx, now, key, start_run=start_run)
			)

		if run.status == "Pending":
			run.started_at = now
		result = advance(
			steps,
			states,
			kinds=kinds,
			now=now,
			condition_holds=condition_holds,
			execute=execute,
			max_attempts=MAX_ATTEMPTS,
		)
		for sid, st in states.items():
			_write_state(rows[sid], st)
		run.status = result.status
		run.next_wake_at = result.next_wake_at
		run.error = result.error
		if result.status in ("Completed", "Failed"):
			run.finished_at = now
		run.flags.ignore_permissions = True
		run.save()
		publish(run, result.events)
		if result.status == "Failed":
			notify_failure(run)
		if run.parent_run and result.status in ("Completed", "Failed"):
			enqueue_advance(run.parent_run)
		return run.status


def _state(row) -> StepState:
	return StepState(
		step_id=row.step_id,
		status=row.status or "Pending",
		attempts=row.attempts or 0,
		output=_json_field(row.output, None),
		error=row.error or None,
		wake_at=get_datetime(row.wake_at) if row.wake_at else None,
		started_at=get_datetime(row.started_at) if row.started_at else None,
		finished_at=get_datetime(row.finished_at) if row.finished_at else None,
	)


def _write_state(row, st: StepState):
	row.status = st.status
	row.attempts = st.attempts
	row.output = frappe.as_json(st.output) if st.output is not None else None
	row.error = st.error
	row.wake_at = st.wake_at
	row.started_at = st.started_at
	row.finished_at = st.finished_at


def publish(run, events: list | None = None):
	"""Tell the run's room and the reference document's room, after commit."""
	payload = {
		"run": run.name,
		"template": run.template,
		"status": run.status,
		"reference_doctype": run.reference_doctype,
		"reference_name": run.reference_name,
		"error": run.error,
		"steps": events or [],
	}
	frappe.publish_realtime(EVENT, payload, doctype=RUN, docname=run.name, after_commit=True)
	if run.reference_doctype and run.reference_name:
		frappe.publish_realtime(
			EVENT, payload, doctype=run.reference_doctype, docname=run.reference_name, after_commit=True
		)


def notify_failure(run):
	"""A failed run is never silent: the template's owner gets a notification."""
	owner = frappe.db.get_value(TEMPLATE, run.template, "owner")
	if not owner or owner == "Guest":
		return
	frappe.get_doc(
		{
			"doctype": "Notification Log",
			"for_user": owner,
			"type": "Alert",
			"document_type": RUN,
			"document_name": run.name,
			"subject": _("Flow run {0} ({1}) failed: {2}").format(run.name, run.template, run.error or ""),
		}
	).insert(ignore_permissions=True)


def cancel_run(run_name: str) -> str:
	with run_lock(run_name) as locked:
		if not locked:
			frappe.throw(_("The run is busy; try again in a moment"))
		run = frappe.get_doc(RUN, run_name)
		if run.status in ("Completed", "Failed", "Cancelled"):
			return run.status
		for row in run.steps:
			if row.status not in ("Completed", "Skipped", "Failed", "Cancelled"):
				row.status = "Cancelled"
				row.wake_at = None
		run.status = "Cancelled"
		run.next_wake_at = None
		run.finished_at = now_datetime()
		run.flags.ignore_permissions = True
		run.save()
		publish(run)
		return run.status


def retry_run(run_name: str) -> str:
	"""Give a failed run's failed and cancelled steps another go (attempts start over)."""
	with run_lock(run_name) as locked:
		if not locked:
			frappe.throw(_("The run is busy; try again in a moment"))
		run = frappe.get_doc(RUN, run_name)
		if run.status != "Failed":
			frappe.throw(_("Only a failed run can be retried"))
		for row in run.steps:
			if row.status in ("Failed", "Cancelled"):
				if row.kind == "send_sms":
					clear_sms_marks(run.name, row.step_id, row.attempts or 0)
				row.status, row.attempts, row.error, row.wake_at, row.finished_at = (
					"Pending",
					0,
					None,
					None,
					None,
				)
		run.status, run.error, run.finished_at = "Running", None, None
		run.flags.ignore_permissions = True
		run.save()
		publish(run)
		enqueue_advance(run.name)
		return run.status
