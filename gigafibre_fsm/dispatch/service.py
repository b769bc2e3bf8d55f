"""Dispatch operations: thin wiring of documents to gigafibre_fsm.core.dispatch.

Every mutation locks the job row it changes (SELECT ... FOR UPDATE), checks the
pure rules, saves, then publishes realtime events after commit and queues the
technicians' SMS in the notification outbox.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime, getdate, now_datetime

from gigafibre_fsm.core import dispatch as core
from gigafibre_fsm.core.billing import line_key
from gigafibre_fsm.core.dispatch import chains, eligibility
from gigafibre_fsm.core.dispatch.status import normalise_status
from gigafibre_fsm.dispatch import notify, values
from gigafibre_fsm.exceptions import ConfirmationRequiredError, ConflictError, core_errors

JOB = "Dispatch Job"
EVENT_JOB = "gigafibre_fsm:dispatch_job"
EVENT_OFFER = "gigafibre_fsm:dispatch_offer"
EVENT_PLAN = "gigafibre_fsm:dispatch_plan"
ACTIVE_STATUSES = ("Assigned", "En Route", "On Site")


def _now():
	return now_datetime().replace(tzinfo=None)


def lock_job(name: str):
	"""The job, read with its row lock held (a locking read: on MariaDB's REPEATABLE READ a
	plain read could return the state from before a concurrent writer committed)."""
	if not frappe.db.exists(JOB, name):
		frappe.throw(_("{0} {1} not found").format(_(JOB), name), frappe.DoesNotExistError)
	try:
		return frappe.get_doc(JOB, name, for_update=True)
	except Exception as e:
		# PostgreSQL (REPEATABLE READ): the row changed after this transaction's snapshot.
		if getattr(e, "pgcode", None) == "40001":
			frappe.db.rollback()
			frappe.throw(
				_("Job {0} was just changed by someone else: reload and try again").format(name),
				ConflictError,
			)
		raise


def save_job(job, *, for_technician: str | None = None) -> None:
	"""Save a job. ``for_technician``: the change is a technician's own (their offer, their
	job, a transition the rules allow), checked by this service before the call. The
	Technician role reads Dispatch Job but may not edit it in the desk, so the service
	writes with the authority it has just checked, for this save only; the session's
	user stays the modifier, so the job's timeline shows who did it."""
	if for_technician:
		if job.technician and job.technician != for_technician:
			frappe.throw(_("Job {0} is not assigned to you").format(job.name), frappe.PermissionError)
		job.flags.ignore_permissions = True
	try:
		job.save()
	finally:
		job.flags.ignore_permissions = False


def publish_job(job, technicians=()):
	payload = {
		"job": job.name,
		"status": job.status,
		"technician": job.technician,
		"scheduled_start": str(job.scheduled_start) if job.scheduled_start else None,
	}
	frappe.publish_realtime(EVENT_JOB, payload, doctype=JOB, docname=job.name, after_commit=True)
	for tech in {t for t in (job.technician, *technicians) if t}:
		user = frappe.db.get_value("Technician", tech, "user")
		if user:
			frappe.publish_realtime(EVENT_JOB, payload, user=user, after_commit=True)


def _job_value(job) -> core.Job:
	return values.jobs_from_rows([frappe._dict({f: job.get(f) for f in values.JOB_FIELDS})])[0]


def _existing(technician: str, start, end, excluding: str) -> list[core.Job]:
	return [j for j in values.planned_between(start, end, [technician]) if j.id != excluding]


def check_fit(job, technician: str, start) -> None:
	"""Refuse an assignment the rules forbid (skills, shifts, window, overlaps, travel)."""
	value = _job_value(job)
	start = get_datetime(start).replace(tzinfo=None)
	end = start + value.duration
	techs = values.technicians(start - timedelta(days=1), end + timedelta(days=1), [technician])
	if technician not in techs:
		frappe.throw(_("Technician {0} is not active").format(technician), ConflictError)
	with core_errors():
		eligibility.check_assignment(
			value, techs[technician], start, _existing(technician, start, end, job.name)
		)


def _set_schedule(job, technician, start):
	job.technician = technician
	job.scheduled_start = get_datetime(start) if start else None
	job.scheduled_end = (
		job.scheduled_start + timedelta(minutes=job.duration_minutes or 60) if job.scheduled_start else None
	)


def assign(name: str, technician: str, start) -> dict:
	job = lock_job(name)
	with core_errors():
		status = (
			core.transition(job.status, "Assigned", technician=technician)
			if job.status
			in (
				"Draft",
				"Offered",
			)
			else normalise_status(job.status)
		)
	check_fit(job, technician, start)
	previous = job.technician
	_set_schedule(job, technician, start)
	job.status = status
	job.save()
	_withdraw_offers(job.name)
	publish_job(job, [previous] if previous else [])
	notify.queue(
		technician,
		"Assignment",
		_("Gigafibre: job {0} on {1}. {2}").format(
			job.name, frappe.utils.format_datetime(job.scheduled_start), notify.technician_link(technician)
		),
		job,
	)
	if previous and previous != technician:
		notify.queue(
			previous, "Unassignment", _("Gigafibre: job {0} is no longer yours.").format(job.name), job
		)
	return job_summary(job)


def unassign(name: str, confirm: bool = False) -> dict:
	job = lock_job(name)
	if not job.technician:
		return job_summary(job)
	if not confirm:
		frappe.throw(
			_("Job {0} is assigned to {1}: confirm to unassign it").format(job.name, job.technician),
			ConfirmationRequiredError,
		)
	if job.status in ("En Route", "On Site", "Completed", "Cancelled"):
		frappe.throw(
			_("Job {0} is {1}: it cannot be unassigned").format(job.name, _(job.status)), ConflictError
		)
	previous = job.technician
	_set_schedule(job, None, None)
	job.status = "Draft"
	job.save()
	publish_job(job, [previous])
	notify.queue(previous, "Unassignment", _("Gigafibre: job {0} is no longer yours.").format(job.name), job)
	return job_summary(job)


def reschedule(name: str, start) -> dict:
	job = lock_job(name)
	if job.status in ("Completed", "Cancelled", "On Site"):
		frappe.throw(
			_("Job {0} is {1}: it cannot be rescheduled").format(job.name, _(job.status)), ConflictError
		)
	if job.technician:
		check_fit(job, job.technician, start)
	_set_schedule(job, job.technician, start)
	job.save()
	publish_job(job)
	if job.technician:
		notify.queue(
			job.technician,
			"Assignment",
			_("Gigafibre: job {0} moved to {1}.").format(
				job.name, frappe.utils.format_datetime(job.scheduled_start)
			),
			job,
		)
	return job_summary(job)


def set_status(name: str, status: str, *, actor_technician: str | None = None) -> dict:
	job = lock_job(name)
	if actor_technician and job.technician != actor_technician:
		frappe.throw(_("Job {0} is not assigned to you").format(job.name), frappe.PermissionError)
	pending = _pending_predecessors(job)
	with core_errors():
		target = core.transition(job.status, status, technician=job.technician, pending_predecessors=pending)
	if target == job.status and target != "Completed":
		return job_summary(job)
	if target == "Completed":
		return complete(job, for_technician=actor_technician)
	job.status = target
	if target == "On Site" and not job.actual_start:
		job.actual_start = now_datetime()
	save_job(job, for_technician=actor_technician)
	publish_job(job)
	return job_summary(job)


def _pending_predecessors(job) -> list[str]:
	deps = values.depends_on(job.depends_on)
	if not deps:
		return []
	done = set(frappe.get_all(JOB, filters={"name": ["in", list(deps)], "status": "Completed"}, pluck="name"))
	return [d for d in deps if d not in done]


def chain_members(job) -> list:
	root = job.parent_job or job.name
	return frappe.get_all(
		JOB, or_filters={"name": root, "parent_job": root}, fields=["name", "status", "depends_on"]
	)


def complete(job, *, for_technician: str | None = None) -> dict:
	"""Complete a job; completing the last job of an installation chain activates the
	customer's pending subscriptions from the next day and drafts the prorated invoice,
	once (the chain's root row is locked and marked)."""
	from gigafibre_fsm.network.gate import check_installation_gate

	check_installation_gate(job)
	root_name = job.parent_job or job.name
	if root_name != job.name:
		frappe.db.get_value(JOB, root_name, "name", for_update=True)
	root = frappe.get_doc(JOB, root_name) if root_name != job.name else job
	members = chain_members(job)
	chain = [chains.ChainJob(m.name, m.status, values.depends_on(m.depends_on)) for m in members]
	completed_on = getdate(now_datetime())
	subs = _pending_subscriptions(job) if (root.chain_kind or job.chain_kind) == "Installation" else []
	with core_errors():
		plan = core.complete_job(
			chain,
			job.name,
			completed_on=completed_on,
			chain_kind=root.chain_kind or job.chain_kind or "Other",
			subscriptions=subs,
			invoice_issued=bool(root.completion_processed),
		)
	if not plan.already_completed:
		job.status = "Completed"
		job.actual_end = now_datetime()
		save_job(job, for_technician=for_technician)
		publish_job(job)
	if plan.chain_complete and not root.completion_processed and (plan.activations or plan.invoice):
		invoice = _apply_activation(job, plan)
		frappe.db.set_value(JOB, root.name, {"completion_processed": 1, "invoice": invoice})
		from gigafibre_fsm.flows import fire

		fire("on_installation_completed", frappe.get_doc(JOB, root.name))
	return job_summary(frappe.get_doc(JOB, job.name)) | {
		"unblocked": list(plan.unblocked),
		"chain_complete": plan.chain_complete,
	}


def _pending_subscriptions(job) -> list[chains.ChainSubscription]:
	if not job.customer:
		return []
	filters = {"customer": job.customer, "status": "En attente"}
	if job.service_location:
		filters["service_location"] = job.service_location
	rows = frappe.get_all("Service Subscription", filters=filters, fields=["name", "monthly_price", "plan"])
	return [chains.ChainSubscription(r.name, r.monthly_price or 0, "En attente", r.plan) for r in rows]


def _apply_activation(job, plan) -> str | None:
	for act in plan.activations:
		sub = frappe.get_doc("Service Subscription", act.subscription)
		sub.status = "Actif"
		sub.start_date = act.start_date
		sub.flags.ignore_permissions = True
		sub.save()
	if not plan.invoice or not plan.invoice.lines:
		return None
	from gigafibre_fsm.customers.billing import record_prorated_invoice

	invoice = _draft_invoice(job.customer, plan.invoice)
	record_prorated_invoice(job.customer, invoice, plan.invoice.lines)
	return invoice


def _draft_invoice(customer: str, invoice) -> str:
	"""A draft Sales Invoice for the prorated lines; every line carries company and income account."""
	company = frappe.defaults.get_user_default("Company") or frappe.db.get_single_value(
		"Global Defaults", "default_company"
	)
	income = frappe.get_cached_value("Company", company, "default_income_account")
	si = frappe.new_doc("Sales Invoice")
	si.customer = customer
	si.company = company
	si.posting_date = invoice.posting_date
	si.set_posting_time = 1
	si.due_date = invoice.lines[0].period_end
	for line in invoice.lines:
		si.append(
			"items",
			{
				"item_code": line.item,
				"qty": 1,
				"rate": float(line.amount),
				"income_account": income,
				"gigafibre_line_key": line_key(line.subscription, line.period_start, line.period_end),
				"description": _("{0}: {1} to {2} ({3}/{4} days of {5} $)").format(
					line.subscription,
					line.period_start,
					line.period_end,
					line.days,
					line.days_in_month,
					line.monthly_rate,
				),
			},
		)
	si.flags.ignore_permissions = True
	si.set_missing_values()
	for item, line in zip(si.items, invoice.lines, strict=True):  # a price list must not override proration
		item.rate = float(line.amount)
		item.price_list_rate = float(line.amount)
		item.discount_percentage = 0
		item.income_account = income
	si.insert()
	return si.name


def job_summary(job) -> dict:
	return {
		"job": job.name,
		"status": job.status,
		"technician": job.technician,
		"scheduled_start": str(job.scheduled_start) if job.scheduled_start else None,
		"scheduled_end": str(job.scheduled_end) if job.scheduled_end else None,
	}


# -- presets ----------------------------------------------------------------------


def create_from_preset(preset: str, customer: str, service_location: str | None = None, **extra) -> str:
	p = frappe.get_doc("Dispatch Preset", preset)
	if p.preset_type != "Job Template":
		frappe.throw(_("{0} is a resource group, not a job template").format(preset))
	job = frappe.new_doc(JOB)
	job.update(
		{
			"job_type": p.job_type or "Installation",
			"priority": p.priority,
			"duration_minutes": p.duration_minutes or 60,
			"customer": customer,
			"service_location": service_location,
			"subject": (p.subject or p.preset_name)
			.replace("{{customer}}", customer or "")
			.replace("{{service_location}}", service_location or ""),
			"preset": p.name,
			"source_type": extra.pop("source_type", "Manual"),
		}
	)
	job.update(extra)
	for s in p.required_skills:
		job.append("required_skills", {"skill": s.skill, "min_level": s.min_level})
	for c in p.checklist:
		job.append("checklist", {"item": c.item})
	job.insert()
	publish_job(job)
	return job.name


# -- plans ------------------------------------------------------------------------


def publish_plan(name: str) -> dict:
	"""Apply a draft plan all at once: every assignment is checked against the rules and
	against the others first; one problem and nothing is applied. Each affected
	technician is notified once."""
	frappe.db.get_value("Dispatch Plan", name, "name", for_update=True)
	plan = frappe.get_doc("Dispatch Plan", name)
	if plan.status != "Draft":
		frappe.throw(_("Dispatch Plan {0} is {1}").format(plan.name, _(plan.status)), ConflictError)
	problems: list[str] = []
	jobs = {}
	for item in plan.items:
		jobs[item.job] = lock_job(item.job)
	window_start = min(
		(get_datetime(i.start) for i in plan.items if i.start), default=get_datetime(plan.period_start)
	)
	window_end = max(
		(get_datetime(i.start) for i in plan.items if i.start), default=get_datetime(plan.period_end)
	)
	window_end += timedelta(days=1)
	plan_jobs = set(jobs)
	techs = values.technicians(
		window_start - timedelta(days=1), window_end, {i.technician for i in plan.items if i.technician}
	)
	# What the schedule looks like once the plan is applied: other jobs, then the plan's.
	board = [j for j in values.planned_between(window_start, window_end) if j.id not in plan_jobs]
	seen = set()
	for item in plan.items:
		job = jobs[item.job]
		if item.job in seen:
			problems.append(_("Job {0} is twice in the plan").format(item.job))
			continue
		seen.add(item.job)
		if job.status in ("En Route", "On Site", "Completed", "Cancelled"):
			problems.append(_("Job {0} is {1}").format(item.job, _(job.status)))
			continue
		if not item.technician:
			continue
		if item.technician not in techs:
			problems.append(_("Technician {0} is not active").format(item.technician))
			continue
		value = _job_value(job)
		start = get_datetime(item.start).replace(tzinfo=None)
		for p in eligibility.problems(value, techs[item.technician], start, board):
			problems.append(f"{item.job}: {_(p.message).format(*p.params)}")
		board.append(dataclasses.replace(value, technician=item.technician, start=start, status="Assigned"))
	if problems:
		frappe.throw(
			"<br>".join(frappe.utils.escape_html(p) for p in problems),
			ConflictError,
			title=_("Nothing was published"),
		)
	touched: dict[str, list[str]] = {}
	log = []
	for item in plan.items:
		job = jobs[item.job]
		previous = job.technician
		_set_schedule(job, item.technician or None, item.start if item.technician else None)
		job.status = "Assigned" if item.technician else "Draft"
		job.save()
		_withdraw_offers(job.name)
		publish_job(job, [previous] if previous else [])
		for tech in {previous, item.technician} - {None, ""}:
			touched.setdefault(tech, []).append(job.name)
		log.append({"job": job.name, "from": previous, "to": item.technician, "start": str(item.start or "")})
	for tech, names in touched.items():
		notify.queue(
			tech,
			"Plan",
			_("Gigafibre: your schedule changed ({0}). {1}").format(
				", ".join(names), notify.technician_link(tech)
			),
			plan,
		)
	plan.status = "Published"
	plan.published_by = frappe.session.user
	plan.published_on = now_datetime()
	plan.publish_log = json.dumps(log)
	plan.save()
	frappe.publish_realtime(
		EVENT_PLAN,
		{"plan": plan.name, "status": plan.status},
		doctype="Dispatch Plan",
		docname=plan.name,
		after_commit=True,
	)
	return {
		"plan": plan.name,
		"status": plan.status,
		"jobs": len(log),
		"technicians_notified": sorted(touched),
	}


# -- offers ----------------------------------------------------------------------


def _withdraw_offers(job: str, keep: str | None = None):
	for offer in frappe.get_all("Dispatch Offer", filters={"job": job, "status": "Open"}, pluck="name"):
		if offer != keep:
			frappe.db.set_value("Dispatch Offer", offer, "status", "Withdrawn")


def eligible_for_offer(job) -> list[str]:
	"""Active technicians with the required skills (and, if the job is scheduled, free then)."""
	value = _job_value(job)
	start = value.start or value.window_start
	horizon = (start or _now()) - timedelta(days=1), (start or _now()) + timedelta(days=2)
	techs = values.technicians(*horizon)
	planned = values.planned_between(*horizon)
	out = []
	for tech in techs.values():
		if eligibility.skill_shortfalls(tech, value.required_skills):
			continue
		if start and eligibility.problems(value, tech, start, [j for j in planned if j.id != job.name]):
			continue
		out.append(tech.id)
	return out


def _overloaded(technician: str, job) -> bool:
	value = _job_value(job)
	start = value.start or value.window_start
	if not start:
		return False
	day = start.replace(hour=0, minute=0, second=0, microsecond=0)
	techs = values.technicians(day, day + timedelta(days=1), [technician])
	if technician not in techs:
		return False
	capacity = eligibility.worked_time(techs[technician].shifts, day, day + timedelta(days=1))
	booked = sum(
		(
			j.duration
			for j in values.planned_between(day, day + timedelta(days=1), [technician])
			if j.start and day <= j.start < day + timedelta(days=1)
		),
		timedelta(),
	)
	return booked + value.duration > capacity


def offer_job(
	name: str, mode: str, technicians=None, price=None, pool: str | None = None, expires_in_minutes: int = 240
) -> dict:
	job = lock_job(name)
	if job.technician:
		frappe.throw(_("Job {0} already has a technician").format(job.name), ConflictError)
	if mode not in ("Broadcast", "Targeted", "Pool"):
		frappe.throw(_("Unknown offer mode {0}").format(mode))
	if mode == "Broadcast":
		recipients = eligible_for_offer(job)
	elif mode == "Targeted":
		recipients = list(dict.fromkeys(technicians or []))
		if not recipients:
			frappe.throw(_("A targeted offer needs technicians"))
	else:
		if not pool:
			frappe.throw(_("A pool offer needs a resource group"))
		recipients = [r.technician for r in frappe.get_doc("Dispatch Preset", pool).technicians]
	if not recipients:
		frappe.throw(_("No technician can take job {0}").format(job.name), ConflictError)
	with core_errors():
		job.status = core.transition(job.status, "Offered")
	job.save()
	expires = now_datetime() + timedelta(minutes=expires_in_minutes)
	offers = []
	for tech in recipients:
		offer = frappe.get_doc(
			{
				"doctype": "Dispatch Offer",
				"job": job.name,
				"technician": tech,
				"mode": mode,
				"pool": pool,
				"price": price,
				"expires_at": expires,
				"status": "Open",
				"overload": 1 if _overloaded(tech, job) else 0,
			}
		).insert(ignore_permissions=True)
		offers.append(offer.name)
		price_text = _(" for {0} $").format(price) if price else ""
		notify.queue(
			tech,
			"Offer",
			_("Gigafibre: job {0} is offered to you{1}. {2}").format(
				job.name, price_text, notify.technician_link(tech)
			),
			offer,
		)
		frappe.publish_realtime(
			EVENT_OFFER,
			{"offer": offer.name, "job": job.name, "status": "Open"},
			doctype=JOB,
			docname=job.name,
			after_commit=True,
		)
	publish_job(job)
	return {"job": job.name, "offers": offers}


def accept_offer(offer_name: str, technician: str) -> dict:
	"""First accept wins: the job row is locked, and an offer is only granted while the
	job still has no technician."""
	offer = frappe.get_doc("Dispatch Offer", offer_name)
	if offer.technician != technician:
		frappe.throw(_("This offer is not yours"), frappe.PermissionError)
	job = lock_job(offer.job)
	offer.reload()
	if offer.status != "Open" or (offer.expires_at and get_datetime(offer.expires_at) < now_datetime()):
		frappe.throw(_("This offer is no longer open"), ConflictError)
	if job.technician or job.status != "Offered":
		frappe.throw(_("Job {0} was already taken").format(job.name), ConflictError)
	return _grant(job, technician, offer)


def claim_job(name: str, technician: str) -> dict:
	"""Claim an offered job from a group queue (or any open offer made to this technician)."""
	job = lock_job(name)
	offers = dict(
		frappe.get_all(
			"Dispatch Offer",
			filters={"job": name, "technician": technician},
			fields=["name", "status"],
			as_list=True,
		)
	)
	if not offers:  # never offered to them: not theirs to claim, taken or not
		frappe.throw(_("Job {0} is not offered to you").format(name), frappe.PermissionError)
	open_offer = next((o for o, status in offers.items() if status == "Open"), None)
	if job.technician or job.status != "Offered" or not open_offer:
		frappe.throw(_("Job {0} was already taken").format(job.name), ConflictError)
	return _grant(job, technician, frappe.get_doc("Dispatch Offer", open_offer))


def _grant(job, technician, offer) -> dict:
	with core_errors():
		job.status = core.transition(job.status, "Assigned", technician=technician)
	job.technician = technician
	if job.scheduled_start:
		_set_schedule(job, technician, job.scheduled_start)
	save_job(job, for_technician=technician)
	offer.status = "Accepted"
	offer.responded_at = now_datetime()
	offer.save(ignore_permissions=True)
	_withdraw_offers(job.name, keep=offer.name)
	publish_job(job)
	frappe.publish_realtime(
		EVENT_OFFER,
		{"offer": offer.name, "job": job.name, "status": "Accepted", "technician": technician},
		doctype=JOB,
		docname=job.name,
		after_commit=True,
	)
	return job_summary(job) | {"offer": offer.name}


def decline_offer(offer_name: str, technician: str, reason: str) -> dict:
	if not (reason or "").strip():
		frappe.throw(_("Give a reason to decline"))
	offer = frappe.get_doc("Dispatch Offer", offer_name, for_update=True)
	if offer.technician != technician:
		frappe.throw(_("This offer is not yours"), frappe.PermissionError)
	if offer.status != "Open":
		frappe.throw(_("This offer is no longer open"), ConflictError)
	offer.status = "Declined"
	offer.decline_reason = reason.strip()
	offer.responded_at = now_datetime()
	offer.save(ignore_permissions=True)
	_back_to_draft_if_no_offer(offer.job)
	frappe.publish_realtime(
		EVENT_OFFER,
		{"offer": offer.name, "job": offer.job, "status": "Declined"},
		doctype=JOB,
		docname=offer.job,
		after_commit=True,
	)
	return {"offer": offer.name, "status": offer.status}


def _back_to_draft_if_no_offer(job_name: str):
	if frappe.db.exists("Dispatch Offer", {"job": job_name, "status": "Open"}):
		return
	job = lock_job(job_name)
	if job.status == "Offered" and not job.technician:
		job.status = "Draft"
		job.save(ignore_permissions=True)  # the system's consequence: the last open offer is gone
		publish_job(job)


def expire_offers(now=None) -> int:
	now = now or now_datetime()
	names = frappe.get_all(
		"Dispatch Offer", filters={"status": "Open", "expires_at": ["<", now]}, fields=["name", "job"]
	)
	for row in names:
		frappe.db.set_value("Dispatch Offer", row.name, "status", "Expired")
	for job in {r.job for r in names}:
		_back_to_draft_if_no_offer(job)
	return len(names)


# -- board and slots ----------------------------------------------------------------


def board(start, end) -> dict:
	start, end = get_datetime(start).replace(tzinfo=None), get_datetime(end).replace(tzinfo=None)
	if end <= start:
		frappe.throw(_("The end of the range must be after its start"))
	if end - start > timedelta(days=31):
		frappe.throw(_("Ask for at most 31 days at a time"))
	rows = frappe.get_all(
		JOB,
		filters={"status": ["!=", "Cancelled"]},
		or_filters={
			"scheduled_start": ["between", [start, end]],
			"window_start": ["between", [start, end]],
		},
		fields=[*values.JOB_FIELDS, "actual_start", "actual_end"],
		limit_page_length=0,
	)
	# Datetime "is not set" through frappe.get_all compares with '' too, which PostgreSQL refuses
	# for timestamps: null checks go through the query builder.
	job = frappe.qb.DocType(JOB)
	unscheduled = (
		frappe.qb.from_(job)
		.select(*[job[f] for f in (*values.JOB_FIELDS, "actual_start", "actual_end")])
		.where(
			job.status.isin(["Draft", "Offered"]) & job.scheduled_start.isnull() & job.window_start.isnull()
		)
		.limit(500)
	).run(as_dict=True)
	techs = values.technicians(start, end)
	tech_rows = frappe.get_all(
		"Technician",
		filters={"active": 1},
		fields=["name", "technician_name", "phone", "last_latitude", "last_longitude", "last_position_at"],
	)
	offers = frappe.get_all(
		"Dispatch Offer",
		filters={"status": "Open"},
		fields=["name", "job", "technician", "mode", "pool", "price", "expires_at", "overload"],
		limit_page_length=0,
	)
	return {
		"start": str(start),
		"end": str(end),
		"jobs": rows + unscheduled,
		"technicians": [
			t
			| {
				"skills": dict(techs[t.name].skills) if t.name in techs else {},
				"shifts": [
					{"start": str(s.start), "end": str(s.end), "kind": s.kind}
					for s in (techs[t.name].shifts if t.name in techs else ())
				],
			}
			for t in tech_rows
		],
		"offers": offers,
	}


def slots(name: str, limit: int = 5) -> list[dict]:
	job = frappe.get_doc(JOB, name)
	value = _job_value(job)
	now = _now()
	start = max(now, value.window_start or now)
	until = value.window_end or start + timedelta(days=7)
	techs = values.technicians(start - timedelta(days=1), until + timedelta(days=1))
	planned = values.planned_between(start, until)
	with core_errors():
		found = core.suggest_slots(value, techs.values(), planned, now=now, until=until, limit=limit)
	return [
		{
			"technician": s.technician,
			"start": str(s.start),
			"end": str(s.end),
			"cost": round(s.cost, 2),
			"travel_added_minutes": round(s.travel_added.total_seconds() / 60, 1),
			"lateness_minutes": round(s.lateness.total_seconds() / 60, 1),
			"overtime_minutes": round(s.overtime.total_seconds() / 60, 1),
			"previous_job": s.previous_job,
			"next_job": s.next_job,
		}
		for s in found
	]
