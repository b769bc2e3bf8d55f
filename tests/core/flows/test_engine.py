from datetime import datetime, timedelta

from gigafibre_fsm.core.flows.catalog import BUILTIN_KINDS
from gigafibre_fsm.core.flows.engine import Outcome, StepState, advance, backoff, idempotency_key

NOW = datetime(2026, 11, 25, 12, 0)


def S(sid, kind="create_issue", parent=None, deps=(), condition=None):
	return {
		"step_id": sid,
		"label": f"L{sid}",
		"kind": kind,
		"parent_step": parent,
		"depends_on": list(deps),
		"condition": condition,
	}


class Recorder:
	def __init__(self, outcomes=None):
		self.calls = []
		self.outcomes = outcomes or {}

	def __call__(self, step, state):
		self.calls.append((step.step_id, state.attempts))
		o = self.outcomes.get(step.step_id)
		if callable(o):
			return o(step, state)
		if isinstance(o, list):
			o = o.pop(0)
		if isinstance(o, Exception):
			raise o
		return o or Outcome.done({"did": step.step_id})


def run(steps, states=None, execute=None, condition=lambda s: True, now=NOW, **kw):
	states = states if states is not None else {}
	execute = execute or Recorder()
	result = advance(
		steps, states, kinds=BUILTIN_KINDS, now=now, condition_holds=condition, execute=execute, **kw
	)
	return result, states, execute


def test_runs_everything_in_dependency_order_and_records_outputs():
	steps = [S("s1"), S("s2", deps=["s1"]), S("g", kind="group"), S("a", parent="g", deps=["s2"])]
	result, states, ex = run(steps)
	assert result.status == "Completed"
	assert [c[0] for c in ex.calls] == ["s1", "s2", "a"]
	assert states["a"].output == {"did": "a"}
	assert states["g"].status == "Completed"
	assert all(st.finished_at == NOW for st in states.values())


def test_false_condition_skips_subtree_and_dependents_still_run():
	steps = [S("g", kind="group", condition={"x": 1}), S("a", parent="g"), S("b", deps=["g"])]
	result, states, ex = run(steps, condition=lambda s: s.step_id != "g")
	assert result.status == "Completed"
	assert states["g"].status == states["a"].status == "Skipped"
	assert states["b"].status == "Completed"
	assert [c[0] for c in ex.calls] == ["b"]


def test_wait_then_wake_on_a_later_tick():
	wake = NOW + timedelta(minutes=30)

	def wait(step, state):
		if state.output and datetime.fromisoformat(state.output["until"]) <= now_box[0]:
			return Outcome.done(state.output)
		return Outcome.wait(wake, {"until": wake.isoformat()})

	now_box = [NOW]
	steps = [S("w", kind="wait"), S("s", deps=["w"])]
	ex = Recorder({"w": wait})
	result, states, _ = run(steps, execute=ex)
	assert (result.status, result.next_wake_at) == ("Waiting", wake)
	assert states["s"].status == "Pending"
	# a tick before the wake time does nothing
	result, states, _ = run(steps, states, ex, now=NOW + timedelta(minutes=10))
	assert result.status == "Waiting" and len(ex.calls) == 1
	now_box[0] = wake
	result, states, _ = run(steps, states, ex, now=wake)
	assert result.status == "Completed"
	assert states["w"].attempts == 1  # waking is not a new attempt


def test_retries_with_backoff_then_fails_visibly():
	steps = [S("s1"), S("s2", deps=["s1"]), S("s3")]
	ex = Recorder({"s1": [RuntimeError("boom")] * 3})
	result, states, _ = run(steps, execute=ex, max_attempts=3)
	assert result.status == "Waiting"
	assert states["s1"].error == "RuntimeError: boom" and states["s1"].attempts == 1
	assert states["s1"].wake_at == NOW + backoff(1)
	t = NOW + timedelta(minutes=1)
	result, states, _ = run(steps, states, ex, now=t, max_attempts=3)
	assert states["s1"].attempts == 2 and states["s1"].wake_at == t + timedelta(minutes=2)
	t += timedelta(minutes=2)
	result, states, _ = run(steps, states, ex, now=t, max_attempts=3)
	assert result.status == "Failed"
	assert "Ls1" in result.error and "gave up after 3 attempts" in result.error
	assert states["s1"].status == "Failed"
	assert states["s2"].status == "Cancelled"
	assert states["s3"].status == "Completed"  # ran in the first tick, its work is kept


def test_a_permanent_failure_is_not_retried():
	result, states, ex = run([S("s1")], execute=Recorder({"s1": Outcome.fail("bad config")}))
	assert result.status == "Failed" and len(ex.calls) == 1
	assert states["s1"].error == "bad config"


def test_condition_error_fails_the_run():
	def boom(step):
		raise ValueError("unknown operator")

	result, states, ex = run([S("s1")], condition=boom)
	assert result.status == "Failed" and "unknown operator" in states["s1"].error
	assert ex.calls == []


def test_waiting_without_wake_time_is_a_failure():
	result, _, _ = run([S("s1")], execute=Recorder({"s1": Outcome("Waiting")}))
	assert result.status == "Failed"


def test_completed_steps_are_never_run_again():
	steps = [S("s1"), S("s2")]
	states = {"s1": StepState("s1", "Completed", 1)}
	result, states, ex = run(steps, states)
	assert [c[0] for c in ex.calls] == ["s2"]
	assert result.status == "Completed"


def test_backoff_and_key():
	assert backoff(1) == timedelta(minutes=1)
	assert backoff(3) == timedelta(minutes=4)
	assert backoff(30) == timedelta(minutes=60)
	assert idempotency_key("FR-1", "s2", 3) == "FR-1:s2:3"
