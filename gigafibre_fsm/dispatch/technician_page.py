"""What the technician page does (its endpoints are gigafibre_fsm.api.technician, for ``/t/<token>``).

The endpoints are guest-callable: the caller has no desk login, the signed link token of ``/t/<token>``
is the proof of who calls (``gigafibre_fsm.dispatch.links.verify``). Every refusal of
a token (forged, expired, revoked, inactive technician) gets one generic message;
the reason goes to the log only.

``act`` applies one action the page queued, at most once per action id: the page
keeps its actions in an outbox while offline and replays them, so a replay (or two
replays racing) must not apply an action twice. The first result is kept in Redis
for 30 days, keyed by technician and action id, and a replay gets it back.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.utils import add_days, get_datetime, get_system_timezone, getdate, now_datetime
from frappe.utils.html_utils import sanitize_html

from gigafibre_fsm.core import tokens
from gigafibre_fsm.core.dispatch.status import allowed_next
from gigafibre_fsm.dispatch import links, offer_pool, service
from gigafibre_fsm.exceptions import ForbiddenError, GigafibreValidationError

JOB = "Dispatch Job"
OFFER = "Dispatch Offer"
OPEN_STATUSES = ("Assigned", "En Route", "On Site")
# Statuses a technician may move their own job to from the page (never Draft, Offered,
# Cancelled: those are the dispatcher's).
TECHNICIAN_TARGETS = frozenset({"Assigned", "En Route", "On Site", "Completed"})
HORIZON_DAYS = 31
MAX_JOBS = 200
ACTION_TYPES = frozenset(
	{"set_status", "accept_offer", "decline_offer", "add_note", "add_photo", "scan_label"}
)
ACTION_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
MAX_NOTE = 4000
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_DATA_URL = re.compile(r"^data:(image/(?:jpeg|png|webp|gif));base64,([A-Za-z0-9+/=\s]+)$")
PHOTO_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
RESULT_TTL = 30 * 24 * 3600  # a phone may stay offline a long time; a replay still answers
CLAIM_TTL = 120  # an action being applied; freed on rollback, expires if the worker dies
PENDING = b"pending"


class TechnicianLinkError(ForbiddenError):
	"""The link token was refused (one class and one message for every reason)."""


class ActionInProgressError(GigafibreValidationError):
	"""The same action id is being applied by another request: retry later."""

	http_status_code = 409


def _link_refused():
	return _("This link has expired or is no longer valid. Ask dispatch for a new one.")


def technician_for(token: str) -> str:
	"""The technician the token proves, or TechnicianLinkError (same message for every failure)."""
	try:
		return links.verify(token)
	except tokens.TokenRejected as e:
		frappe.logger("gigafibre_fsm.technician_link").info(
			{"event": "token_refused", "reason": e.reason, "ip": getattr(frappe.local, "request_ip", None)}
		)
	frappe.throw(_link_refused(), TechnicianLinkError, title=_("Link expired"))


@contextmanager
def _on_behalf_of_technician(technician: str) -> Iterator[None]:
	"""The link proves the technician, and the dispatch service writes their own changes
	with the authority it checks itself (``service.save_job(..., for_technician=...)``).
	For the call only, the session's user (not the session) becomes the technician's
	enabled user, so the job's timeline and ``modified_by`` show who acted; a technician
	without a user acts as Administrator, and the comment on the job names them."""
	user = frappe.db.get_value("Technician", technician, "user")
	if not user or not frappe.db.get_value("User", user, "enabled"):
		user = "Administrator"
	session = frappe.local.session
	previous = session.user
	session.user = user
	try:
		yield
	finally:
		session.user = previous


# -- reading --------------------------------------------------------------------------


def jobs_for(technician: str) -> dict:
	"""Today's and upcoming jobs of the technician, and the offers made to them."""
	today = getdate()
	tech = frappe.db.get_value("Technician", technician, ["name", "technician_name"], as_dict=True)
	fields = [
		"name",
		"subject",
		"job_type",
		"status",
		"priority",
		"customer",
		"service_location",
		"duration_minutes",
		"window_start",
		"window_end",
		"scheduled_start",
		"scheduled_end",
		"actual_end",
		"notes",
		"modified",
	]
	horizon = add_days(today, HORIZON_DAYS)
	open_jobs = frappe.get_all(
		JOB,
		filters={"technician": technician, "status": ["in", OPEN_STATUSES]},
		fields=fields,
		order_by="scheduled_start asc",
		limit_page_length=MAX_JOBS,
	)
	open_jobs = [j for j in open_jobs if not j.scheduled_start or getdate(j.scheduled_start) < horizon]
	done_today = frappe.get_all(
		JOB,
		filters={
			"technician": technician,
			"status": "Completed",
			"actual_end": [">=", datetime.combine(today, datetime.min.time())],
		},
		fields=fields,
		order_by="actual_end asc",
		limit_page_length=MAX_JOBS,
	)
	jobs = done_today + open_jobs
	names = [j.name for j in jobs]
	locations = _by_name(
		"Service Location",
		{j.service_location for j in jobs},
		["name", "address_line", "city", "postal_code", "latitude", "longitude", "access_notes"],
	)
	customers = _by_name("Customer", {j.customer for j in jobs}, ["name", "customer_name"])
	checklist: dict[str, list] = {}
	photos: dict[str, int] = {}
	if names:
		for row in frappe.get_all(
			"Dispatch Job Checklist Item",
			filters={"parent": ["in", names], "parenttype": JOB},
			fields=["parent", "item", "done"],
			order_by="idx asc",
		):
			checklist.setdefault(row.parent, []).append({"item": row.item, "done": bool(row.done)})
		for row in frappe.get_all(
			"Dispatch Job Photo",
			filters={"parent": ["in", names], "parenttype": JOB},
			fields=["parent"],
		):
			photos[row.parent] = photos.get(row.parent, 0) + 1
	out_jobs = []
	for j in jobs:
		loc = locations.get(j.service_location) or {}
		out_jobs.append(
			{
				"name": j.name,
				"subject": j.subject,
				"job_type": j.job_type,
				"status": j.status,
				"priority": j.priority,
				"duration_minutes": j.duration_minutes,
				"window_start": _text(j.window_start),
				"window_end": _text(j.window_end),
				"scheduled_start": _text(j.scheduled_start),
				"scheduled_end": _text(j.scheduled_end),
				"customer_name": (customers.get(j.customer) or {}).get("customer_name"),
				"address_line": loc.get("address_line"),
				"city": loc.get("city"),
				"postal_code": loc.get("postal_code"),
				"latitude": loc.get("latitude"),
				"longitude": loc.get("longitude"),
				"access_notes": loc.get("access_notes"),
				"checklist": checklist.get(j.name, []),
				"notes": j.notes or "",
				"photo_count": photos.get(j.name, 0),
				"next_statuses": next_statuses(j.status),
			}
		)
	return {
		"technician": {"name": tech.name, "technician_name": tech.technician_name},
		"today": str(today),
		"server_time": _text(now_datetime()),
		"jobs": out_jobs,
		"offers": _open_offers(technician),
	}


def _open_offers(technician: str) -> list[dict]:
	"""Open offers to the technician: when, where (the city only) and what; the customer
	and the address come with the job once it is theirs."""
	offers = frappe.get_all(
		OFFER,
		filters={"technician": technician, "status": "Open"},
		fields=["name", "job", "price", "expires_at", "overload"],
		order_by="creation asc",
		limit_page_length=MAX_JOBS,
	)
	now = now_datetime().replace(tzinfo=None)
	offers = [o for o in offers if not o.expires_at or get_datetime(o.expires_at) > now]
	jobs = _by_name(
		JOB,
		{o.job for o in offers},
		[
			"name",
			"subject",
			"job_type",
			"duration_minutes",
			"window_start",
			"window_end",
			"scheduled_start",
			"scheduled_end",
			"service_location",
		],
	)
	cities = _by_name(
		"Service Location", {j.get("service_location") for j in jobs.values()}, ["name", "city"]
	)
	out = []
	for o in offers:
		j = jobs.get(o.job) or {}
		out.append(
			{
				"name": o.name,
				"job": o.job,
				"price": o.price,
				"expires_at": _text(o.expires_at),
				"overload": bool(o.overload),
				"subject": j.get("subject"),
				"job_type": j.get("job_type"),
				"duration_minutes": j.get("duration_minutes"),
				"window_start": _text(j.get("window_start")),
				"window_end": _text(j.get("window_end")),
				"scheduled_start": _text(j.get("scheduled_start")),
				"scheduled_end": _text(j.get("scheduled_end")),
				"city": (cities.get(j.get("service_location")) or {}).get("city"),
			}
		)
	return out


def next_statuses(status: str | None) -> list[str]:
	"""What the technician may move the job to next, in the lifecycle's order."""
	allowed = allowed_next(status) & TECHNICIAN_TARGETS
	if status != "En Route":
		allowed -= {"Assigned"}  # only "turned back on the road" goes back to Assigned
	order = ("En Route", "On Site", "Completed", "Assigned")
	return [s for s in order if s in allowed]


def _by_name(doctype: str, names, fields: list[str]) -> dict[str, dict]:
	names = [n for n in names if n]
	if not names:
		return {}
	return {r.name: r for r in frappe.get_all(doctype, filters={"name": ["in", names]}, fields=fields)}


def _text(value) -> str | None:
	if not value:
		return None
	return str(get_datetime(value).replace(tzinfo=None, microsecond=0))


# -- acting ---------------------------------------------------------------------------


def act(technician: str, action: dict) -> dict:
	"""Apply one queued action of the technician, once per ``action["id"]`` (its shape:
	gigafibre_fsm.api.technician.act); a replay returns the first result, ``replayed`` true."""
	if not isinstance(action, dict):
		frappe.throw(_("The action must be an object"), GigafibreValidationError)
	action_id = str(action.get("id") or "")
	if not ACTION_ID.match(action_id):
		frappe.throw(_("The action needs an id (a UUID made by the page)"), GigafibreValidationError)
	kind = action.get("type")
	if not isinstance(kind, str) or kind not in ACTION_TYPES:
		frappe.throw(_("Unknown action {0}").format(str(kind)[:40]), GigafibreValidationError)

	cache = frappe.cache
	key = cache.make_key(f"gigafibre_fsm:technician_action:{technician}:{action_id}")
	stored = cache.get(key)
	if stored and stored != PENDING:
		return json.loads(stored) | {"replayed": True}
	if not cache.set(key, PENDING, nx=True, ex=CLAIM_TTL):
		stored = cache.get(key)
		if stored and stored != PENDING:
			return json.loads(stored) | {"replayed": True}
		frappe.throw(_("This action is already being applied: it will be retried"), ActionInProgressError)

	def release():
		if cache.get(key) == PENDING:
			cache.delete(key)

	frappe.db.after_rollback.add(release)
	try:
		with _on_behalf_of_technician(technician):
			result = _apply(technician, kind, action)
	except BaseException:
		release()
		raise
	answer = {"id": action_id, "type": kind, "result": result, "replayed": False}
	# Kept once the change is committed: a rolled-back change is applied again on replay.
	frappe.db.after_commit.add(lambda: cache.set(key, json.dumps(answer, default=str), ex=RESULT_TTL))
	return answer


def _apply(technician: str, kind: str, action: dict) -> dict:
	if kind == "set_status":
		job = _required(action, "job")
		status = _required(action, "status")
		if status not in TECHNICIAN_TARGETS:
			frappe.throw(
				_("A job cannot be moved to {0} from this page").format(status[:40]), GigafibreValidationError
			)
		result = service.set_status(job, status, actor_technician=technician)
		_audit(job, technician, _("status {0}").format(_(result["status"])))
		return {"job": job, "status": result["status"]}
	if kind == "accept_offer":
		offer = _required(action, "offer")
		result = offer_pool.accept_offer(offer, technician)
		_audit(result["job"], technician, _("offer accepted"))
		return {"offer": offer, "job": result["job"], "status": "Accepted"}
	if kind == "decline_offer":
		offer = _required(action, "offer")
		result = offer_pool.decline_offer(offer, technician, str(action.get("reason") or "")[:MAX_NOTE])
		return {"offer": offer, "status": result["status"]}
	if kind == "add_note":
		return _add_note(technician, _required(action, "job"), action)
	if kind == "scan_label":
		return _scan_label(technician, _required(action, "job"), action)
	return _add_photo(technician, _required(action, "job"), action)


def _scan_label(technician: str, name: str, action: dict) -> dict:
	"""A label photo read by the vision model, its device added to the job it was taken for.
	A timeout stays an error the page retries (504); an unreadable label is refused for good
	(417), so one bad photo does not hold the rest of the outbox."""
	from gigafibre_fsm.network import scan

	if frappe.db.get_value("Dispatch Job", name, "technician") != technician:
		frappe.throw(_("Job {0} is not assigned to you").format(name), frappe.PermissionError)
	try:
		answer = scan.scan_label(str(action.get("photo") or ""), name, technician=technician)
	except scan.ScanUnreadableError as e:
		frappe.clear_messages()
		frappe.throw(str(e), GigafibreValidationError)
	added = answer["job"] or {}
	return {
		"job": name,
		"equipment": added.get("equipment"),
		"serial": answer["scan"].get("serial")
		or answer["scan"].get("gpon_serial")
		or answer["scan"].get("mac"),
		"added": added.get("added"),
	}


def _required(action: dict, field: str) -> str:
	value = action.get(field)
	if not isinstance(value, str) or not value.strip():
		frappe.throw(_("The action is missing {0}").format(field), GigafibreValidationError)
	return value.strip()


def _own_job(technician: str, name: str):
	job = service.lock_job(name)
	if job.technician != technician:
		frappe.throw(_("Job {0} is not assigned to you").format(job.name), frappe.PermissionError)
	if job.status == "Cancelled":
		frappe.throw(_("Job {0} is cancelled").format(job.name), GigafibreValidationError)
	return job


def _acted_at(action: dict) -> datetime:
	"""When the technician acted (the page's clock, sent with the queued action), in the
	site's time zone; the server's time when absent or implausible."""
	now = now_datetime().replace(tzinfo=None)
	raw = action.get("at")
	if not isinstance(raw, str):
		return now
	try:
		at = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
	except ValueError:
		return now
	if at.tzinfo is not None:
		at = at.astimezone(ZoneInfo(get_system_timezone())).replace(tzinfo=None)
	if at > now + timedelta(minutes=5) or at < now - timedelta(days=30):
		return now
	return at.replace(microsecond=0)


def _technician_name(technician: str) -> str:
	return frappe.db.get_value("Technician", technician, "technician_name") or technician


def _add_note(technician: str, name: str, action: dict) -> dict:
	note = sanitize_html(str(action.get("note") or "")).strip()
	if not note:
		frappe.throw(_("Write a note first"), GigafibreValidationError)
	if len(note) > MAX_NOTE:
		frappe.throw(_("A note has at most {0} characters").format(MAX_NOTE), GigafibreValidationError)
	job = _own_job(technician, name)
	at = _acted_at(action)
	line = f"[{at:%Y-%m-%d %H:%M}] {_technician_name(technician)}: {note}"
	job.notes = f"{job.notes.rstrip()}\n{line}" if job.notes else line
	service.save_job(job, for_technician=technician)
	service.publish_job(job)
	return {"job": job.name, "note": line}


def _decode_photo(data_url) -> tuple[str, bytes]:
	match = PHOTO_DATA_URL.match(data_url) if isinstance(data_url, str) else None
	if not match:
		frappe.throw(_("The photo must be a JPEG, PNG, WebP or GIF image"), GigafibreValidationError)
	if len(match.group(2)) > (MAX_PHOTO_BYTES * 4) // 3 + 16:
		frappe.throw(
			_("The photo is larger than {0} MB").format(MAX_PHOTO_BYTES // (1024 * 1024)),
			GigafibreValidationError,
		)
	try:
		content = base64.b64decode("".join(match.group(2).split()), validate=True)
	except (binascii.Error, ValueError):
		frappe.throw(_("The photo must be a JPEG, PNG, WebP or GIF image"), GigafibreValidationError)
	if len(content) > MAX_PHOTO_BYTES:
		frappe.throw(
			_("The photo is larger than {0} MB").format(MAX_PHOTO_BYTES // (1024 * 1024)),
			GigafibreValidationError,
		)
	mime = match.group(1)
	if _sniff(content) != mime:
		frappe.throw(_("The photo must be a JPEG, PNG, WebP or GIF image"), GigafibreValidationError)
	return mime, content


def _sniff(content: bytes) -> str | None:
	if content.startswith(b"\xff\xd8\xff"):
		return "image/jpeg"
	if content.startswith(b"\x89PNG\r\n\x1a\n"):
		return "image/png"
	if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
		return "image/webp"
	if content[:6] in (b"GIF87a", b"GIF89a"):
		return "image/gif"
	return None


def _add_photo(technician: str, name: str, action: dict) -> dict:
	mime, content = _decode_photo(action.get("photo"))
	caption = sanitize_html(str(action.get("note") or "")).strip()[:MAX_NOTE]
	job = _own_job(technician, name)
	at = _acted_at(action)
	file = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": f"{job.name}-{at:%Y%m%d-%H%M%S}-{str(action['id'])[:8]}.{PHOTO_EXT[mime]}",
			"attached_to_doctype": JOB,
			"attached_to_name": job.name,
			"is_private": 1,
			"content": content,
		}
	).insert(ignore_permissions=True)
	job.append("photos", {"image": file.file_url, "note": caption or None, "taken_at": at})
	service.save_job(job, for_technician=technician)
	service.publish_job(job)
	return {"job": job.name, "file": file.name, "photo_count": len(job.photos)}


def _audit(job: str | None, technician: str, what: str) -> None:
	if not job:
		return
	frappe.get_doc(JOB, job).add_comment(
		"Info", _("{0} via the technician link: {1}").format(_technician_name(technician), what)
	)
