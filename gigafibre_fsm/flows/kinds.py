"""Step kinds: the core catalog plus the handler that performs each kind.

A handler takes a StepContext and returns a core Outcome. Other modules add
kinds through the ``gigafibre_flow_step_kinds`` hook: each entry is the dotted
path of a function returning ``{name: (StepKind, handler)}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import frappe
import requests
from frappe import _
from frappe.utils import get_datetime

from gigafibre_fsm.connectors import twilio
from gigafibre_fsm.connectors.errors import ConnectorAuthError, ConnectorError
from gigafibre_fsm.core import conditions
from gigafibre_fsm.core.flows.catalog import BUILTIN_KINDS, StepKind
from gigafibre_fsm.core.flows.engine import Outcome, StepState
from gigafibre_fsm.core.flows.graph import Step
from gigafibre_fsm.settings import get_settings


@dataclass
class StepContext:
	run: object  # the Flow Run document
	step: Step
	state: StepState
	config: dict  # rendered
	context: dict  # the run context (doc, customer, steps, run, now, event)
	now: datetime
	idempotency_key: str
	dry_run: bool = False
	# starts a child run (runtime.start_run, given by the runtime: kinds never import it)
	start_run: Callable[..., str] | None = None

	@property
	def reference(self):
		return frappe.get_doc(self.run.reference_doctype, self.run.reference_name)

	@property
	def previous(self) -> dict:
		return self.state.output or {}


Handler = Callable[[StepContext], Outcome]


def _iso(dt: datetime) -> str:
	return get_datetime(dt).isoformat()


# -- wait ---------------------------------------------------------------------


def wait(ctx: StepContext) -> Outcome:
	cfg, prev = ctx.config, ctx.previous
	if "until" in prev:  # already scheduled: done when due
		until = get_datetime(prev["until"])
		return Outcome.done(prev) if ctx.now >= until else Outcome.wait(until, prev)
	if cfg.get("until_condition"):
		started = get_datetime(prev.get("since") or ctx.now)
		if conditions.matches(cfg["until_condition"], ctx.context):
			return Outcome.done({"since": _iso(started), "met_at": _iso(ctx.now)})
		timeout = cfg.get("timeout_minutes")
		if timeout and ctx.now >= started + timedelta(minutes=int(timeout)):
			return Outcome.fail(_("The condition did not hold within {0} minutes").format(timeout))
		every = int(cfg.get("check_every_minutes") or 5)
		return Outcome.wait(ctx.now + timedelta(minutes=every), {"since": _iso(started)})
	if cfg.get("until_field"):
		value = ctx.context.get("doc", {}).get(cfg["until_field"])
		if not value:
			return Outcome.fail(_("The field {0} of the document is empty").format(cfg["until_field"]))
		until = get_datetime(value) + timedelta(minutes=int(cfg.get("offset_minutes") or 0))
	else:
		until = ctx.now + timedelta(minutes=int(cfg.get("delay_minutes") or 0))
	output = {"until": _iso(until)}
	return Outcome.done(output) if ctx.now >= until else Outcome.wait(until, output)


# -- documents ------------------------------------------------------------------


def set_field(ctx: StepContext) -> Outcome:
	doc = ctx.reference
	fieldname = ctx.config["field"]
	df = doc.meta.get_field(fieldname)
	if not df or df.fieldtype in frappe.model.table_fields or df.fieldtype in frappe.model.no_value_fields:
		return Outcome.fail(_("{0} has no field {1} that a flow can set").format(doc.doctype, fieldname))
	old = doc.get(fieldname)
	doc.set(fieldname, ctx.config.get("value"))
	doc.flags.ignore_permissions = True
	doc.flags.from_flow_run = ctx.run.name
	doc.save()
	return Outcome.done(
		{"doctype": doc.doctype, "name": doc.name, "field": fieldname, "old": old, "new": doc.get(fieldname)}
	)


def _customer(ctx: StepContext) -> str | None:
	return (ctx.context.get("customer") or {}).get("name")


def create_issue(ctx: StepContext) -> Outcome:
	cfg = ctx.config
	issue = frappe.new_doc("Issue")
	issue.subject = cfg["subject"]
	issue.description = cfg.get("description") or cfg["subject"]
	if cfg.get("raised_by"):
		issue.raised_by = cfg["raised_by"]
	if cfg.get("priority") and frappe.db.exists("Issue Priority", cfg["priority"]):
		issue.priority = cfg["priority"]
	if cfg.get("issue_type") and frappe.db.exists("Issue Type", cfg["issue_type"]):
		issue.issue_type = cfg["issue_type"]
	if _customer(ctx) and issue.meta.has_field("customer"):
		issue.customer = _customer(ctx)
	issue.flags.ignore_permissions = True
	issue.insert()
	return Outcome.done({"doctype": "Issue", "name": issue.name})


def _todo(ctx: StepContext) -> str:
	cfg = ctx.config
	todo = frappe.get_doc(
		{
			"doctype": "ToDo",
			"description": cfg["description"],
			"allocated_to": cfg.get("allocated_to") or None,
			"role": cfg.get("role") or None,
			"date": cfg.get("date") or None,
			"priority": cfg.get("priority") if cfg.get("priority") in ("Low", "Medium", "High") else "Medium",
			"reference_type": ctx.run.reference_doctype,
			"reference_name": ctx.run.reference_name,
			"assigned_by": "Administrator",
		}
	)
	todo.insert(ignore_permissions=True)
	return todo.name


def create_todo(ctx: StepContext) -> Outcome:
	return Outcome.done({"doctype": "ToDo", "name": _todo(ctx)})


def approval(ctx: StepContext) -> Outcome:
	"""A ToDo waits for a decision: Closed = approved, Cancelled = rejected."""
	prev = ctx.previous
	todo = prev.get("todo") or _todo(ctx)
	status = frappe.db.get_value("ToDo", todo, "status")
	if status == "Closed":
		return Outcome.done({"todo": todo, "approved": True})
	if status == "Cancelled":
		return Outcome.done({"todo": todo, "approved": False})
	timeout = ctx.config.get("timeout_minutes")
	asked = get_datetime(prev.get("asked_at") or ctx.now)
	if timeout and ctx.now >= asked + timedelta(minutes=int(timeout)):
		return Outcome.fail(_("No decision within {0} minutes").format(timeout))
	return Outcome.wait(ctx.now + timedelta(minutes=5), {"todo": todo, "asked_at": _iso(asked)})


# -- messages -------------------------------------------------------------------


def send_email(ctx: StepContext) -> Outcome:
	cfg = ctx.config
	recipients = cfg["recipients"]
	if isinstance(recipients, str):
		recipients = [r.strip() for r in recipients.replace(";", ",").split(",") if r.strip()]
	if not recipients:
		return Outcome.fail(_("The email has no recipient"))
	queued = frappe.sendmail(
		recipients=recipients,
		subject=cfg["subject"],
		message=cfg["message"],
		reference_doctype=ctx.run.reference_doctype,
		reference_name=ctx.run.reference_name,
		delayed=True,
	)
	if not queued:  # Frappe drops a mail it cannot build (bad address, no outgoing account)
		return Outcome.fail(
			_("The email could not be queued: check the addresses and the outgoing email account")
		)
	return Outcome.done({"recipients": recipients, "email_queue": getattr(queued, "name", None)})


def _external(call: Callable[[], Outcome]) -> Outcome:
	"""Map connector errors: refusals are final, the rest are retried."""
	try:
		return call()
	except twilio.TwilioRejected as e:
		return Outcome.fail(str(e))
	except ConnectorAuthError as e:
		return Outcome.fail(str(e))
	except ConnectorError as e:
		return Outcome.retry(str(e))


REPLAY_SECONDS = 7 * 24 * 3600


def send_sms(ctx: StepContext) -> Outcome:
	"""At most one SMS per step attempt, even if the worker dies around the call.

	Twilio takes no idempotency key, so the attempt leaves two marks in Redis: "in flight"
	before the call (Redis unreachable: no call, the step is retried later), the message sid
	after it. A replay of the attempt (the worker died
	before the run was saved) reuses the sid; one that finds only the in-flight mark cannot
	know whether Twilio got the message and fails the step visibly instead of sending it
	again (retrying the run sends it).
	"""
	from gigafibre_fsm.gigafibre_integrations.consent import opted_out

	if opted_out(ctx.config["to"]):  # an agent-flow SMS: the number sent STOP (CASL)
		return Outcome.done({"to": ctx.config["to"], "sent": False, "reason": "opted_out"})
	cache_key = f"gigafibre_fsm:flow_sms:{ctx.idempotency_key}"
	inflight_key = f"gigafibre_fsm:flow_sms_inflight:{ctx.idempotency_key}"
	# expires=True: a plain get_value keeps a miss in frappe.local.cache and a replay in this
	# process would then miss the sid cached since
	sent_sid = frappe.cache.get_value(cache_key, expires=True)
	if sent_sid:  # this very attempt already reached Twilio (a crash before the run was saved)
		return Outcome.done({"sid": sent_sid, "to": ctx.config["to"], "replayed": True})
	if frappe.cache.get_value(inflight_key, expires=True):
		return Outcome.fail(
			_(
				"The SMS may already have been sent: the previous try stopped during the call to "
				"Twilio. It was not sent again; retry the run to send it."
			)
		)

	def call():
		sent = twilio.send_sms(get_settings().twilio, ctx.config["to"], ctx.config["body"])
		frappe.cache.set_value(cache_key, sent.sid, expires_in_sec=REPLAY_SECONDS)
		return Outcome.done(sent.as_dict())

	if not _mark(inflight_key):
		return Outcome.retry(
			_("Redis cannot be reached: the SMS was not sent, as nothing would stop a second send")
		)
	try:
		return _external(call)
	finally:  # not reached if the process is killed during the call: the mark stays
		frappe.cache.delete_value(inflight_key)


def _mark(key: str) -> bool:
	"""Write a replay mark as ``frappe.cache.set_value`` would, but say whether it was written:
	set_value swallows Redis connection errors, and an SMS sent without its in-flight mark
	could be sent again by a replay."""
	import pickle

	import redis

	try:
		frappe.cache.set(frappe.cache.make_key(key), pickle.dumps(1), ex=REPLAY_SECONDS)
	except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
		return False
	return True


def clear_sms_marks(run: str, step_id: str, attempts: int):
	"""Forget the in-flight marks of a step's attempts (an operator retries the run)."""
	from gigafibre_fsm.core.flows.engine import idempotency_key

	frappe.cache.delete_value(
		[
			f"gigafibre_fsm:flow_sms_inflight:{idempotency_key(run, step_id, n)}"
			for n in range(1, max(attempts, 1) + 1)
		]
	)


def sign_body(secret: str, body: bytes) -> str:
	return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(ctx: StepContext) -> Outcome:
	cfg = ctx.config
	body = json.dumps(
		{"run": ctx.run.name, "step": ctx.step.step_id, "payload": cfg.get("payload")},
		default=str,
		sort_keys=True,
	).encode()
	secret = get_settings().token_secret
	headers = {
		"Content-Type": "application/json",
		"Idempotency-Key": ctx.idempotency_key,
		"X-Gigafibre-Signature": sign_body(secret, body),
	}
	cache_key = f"gigafibre_fsm:flow_webhook:{ctx.idempotency_key}"
	delivered = frappe.cache.get_value(cache_key, expires=True)
	if delivered:  # this very attempt was already accepted (a crash before the run was saved)
		return Outcome.done({"status_code": delivered, "replayed": True})
	try:
		resp = requests.request(
			cfg.get("method") or "POST", cfg["url"], data=body, headers=headers, timeout=10
		)
	except requests.RequestException as e:
		return Outcome.retry(_("The webhook could not be called: {0}").format(e))
	if 200 <= resp.status_code < 300:
		frappe.cache.set_value(cache_key, resp.status_code, expires_in_sec=REPLAY_SECONDS)
		return Outcome.done({"status_code": resp.status_code})
	if resp.status_code in (408, 425, 429) or resp.status_code >= 500:
		return Outcome.retry(_("The webhook answered {0}").format(resp.status_code))
	return Outcome.fail(_("The webhook refused the call ({0})").format(resp.status_code))


def subflow(ctx: StepContext) -> Outcome:
	prev = ctx.previous
	child = prev.get("run")
	if not child:
		template = ctx.config["template"]
		if not frappe.db.exists("Flow Template", template):
			return Outcome.fail(_("Flow Template {0} not found").format(template))
		child = ctx.start_run(
			template,
			ctx.run.reference_doctype,
			ctx.run.reference_name,
			event="subflow",
			occurrence=f"{ctx.run.name}:{ctx.step.step_id}",
			parent_run=ctx.run.name,
		)
	if not ctx.config.get("wait"):
		return Outcome.done({"run": child})
	status = frappe.db.get_value("Flow Run", child, "status")
	if status == "Completed":
		return Outcome.done({"run": child, "status": status})
	if status in ("Failed", "Cancelled"):
		return Outcome.fail(_("Sub-flow {0} ended {1}").format(child, _(status)))
	return Outcome.wait(ctx.now + timedelta(minutes=5), {"run": child})


BUILTIN_HANDLERS: dict[str, Handler] = {
	"wait": wait,
	"set_field": set_field,
	"create_issue": create_issue,
	"create_todo": create_todo,
	"send_email": send_email,
	"send_sms": send_sms,
	"webhook": webhook,
	"approval": approval,
	"subflow": subflow,
}


def registry() -> tuple[dict[str, StepKind], dict[str, Handler]]:
	"""Every step kind and its handler: built-ins plus the hook ``gigafibre_flow_step_kinds``."""
	kinds = dict(BUILTIN_KINDS)
	handlers = dict(BUILTIN_HANDLERS)
	for path in frappe.get_hooks("gigafibre_flow_step_kinds") or []:
		for name, (kind, handler) in frappe.get_attr(path)().items():
			kinds[name] = kind
			handlers[name] = handler
	return kinds, handlers
