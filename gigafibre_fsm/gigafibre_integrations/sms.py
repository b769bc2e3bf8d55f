"""Two-way SMS on the customer's timeline (Twilio), and SMS consent.

Inbound (``receive``, called by the ``twilio_sms`` webhook after its signature check): the
sender is matched by phone (E.164) against the Customer's ``cell_phone`` and the phones of the
Contacts linked to a Customer; the message becomes a Communication (medium SMS, Received,
``message_id`` = Twilio's MessageSid, so a redelivery is recognised) on the customer's open Issue
when there is one, else on the Customer; a number we do not know starts (or continues) a triage
Issue. It is published to the customer's room, the Issue's room and each Customer Service user,
and fires the flow event ``on_sms_received`` (on the Issue, else the Customer; once per message).
STOP / START words change the number's SMS Consent (core/comms/sms.py).

Outbound from the desk (``desk_message``: to a number of the thread that did not text STOP, then
``queue_reply``): an outgoing Communication is the outbox row, written in the caller's
transaction and sent by a job after commit (``send_queued``) through the Twilio connector with a
status callback; ``update_status`` applies Twilio's callbacks to it (and to a
technician's Dispatch Notification with that sid).
"""

from __future__ import annotations

from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import escape_html, now_datetime

from gigafibre_fsm.connectors import twilio
from gigafibre_fsm.connectors.errors import ConnectorError
from gigafibre_fsm.core.comms import sms as rules
from gigafibre_fsm.core.comms.phones import masked, stored_forms, to_e164
from gigafibre_fsm.db_retry import retrying
from gigafibre_fsm.exceptions import ConflictError, GigafibreValidationError
from gigafibre_fsm.gigafibre_integrations.consent import consent_of, opted_out, set_consent
from gigafibre_fsm.settings import get_settings

EVENT = "gigafibre_fsm:sms"
CLOSED_ISSUE = ("Resolved", "Closed")
STAFF_ROLE = "Customer Service"
LOG = "gigafibre_fsm.sms"
CLAIM_SECONDS = 600  # longer than any request; then the stored Communication (message_id) answers
MAX_BODY = 1600  # Twilio's limit for one message
STATUS_WEBHOOK = "/api/method/gigafibre_fsm.api.webhooks.twilio_status"


@dataclass(frozen=True)
class Party:
	customer: str | None = None
	contact: str | None = None


def find_party(e164: str | None) -> Party:
	"""The customer a number belongs to: the Customer's cell_phone first, then the phones of the
	Contacts linked to a Customer. Ties go to the oldest record (stable answers)."""
	if not e164:
		return Party()
	forms = stored_forms(e164)
	customers = frappe.get_all(
		"Customer",
		filters={"cell_phone": ["in", forms], "disabled": 0},
		pluck="name",
		order_by="creation asc",
		limit=1,
	)
	contacts = frappe.get_all(
		"Contact Phone",
		filters={"phone": ["in", forms], "parenttype": "Contact"},
		pluck="parent",
		order_by="creation asc",
		limit=20,
	)
	contact = contacts[0] if contacts else None
	if customers:
		return Party(customers[0], contact)
	if contacts:
		links = frappe.get_all(
			"Dynamic Link",
			filters={"parenttype": "Contact", "parent": ["in", contacts], "link_doctype": "Customer"},
			fields=["parent", "link_name"],
			order_by="creation asc",
			limit=1,
		)
		if links:
			return Party(links[0].link_name, links[0].parent)
	return Party(None, contact)


def open_issue(customer: str) -> str | None:
	"""The customer's newest Issue that is not Resolved or Closed."""
	found = frappe.get_all(
		"Issue",
		filters={"customer": customer, "status": ["not in", CLOSED_ISSUE]},
		pluck="name",
		order_by="creation desc",
		limit=1,
	)
	return found[0] if found else None


# -- inbound ---------------------------------------------------------------------------------


def _triage_issue(e164: str, body: str) -> str:
	"""The open triage Issue of an unknown number (one at a time per number)."""
	consent = consent_of(e164, for_update=True)
	issue = consent.triage_issue
	if issue and frappe.db.get_value("Issue", issue, "status") not in (None, *CLOSED_ISSUE):
		return issue
	doc = frappe.new_doc("Issue")
	doc.subject = _("SMS from an unknown number {0}").format(e164)
	doc.description = escape_html(body[:500])
	doc.flags.ignore_permissions = True
	doc.insert()
	consent.triage_issue = doc.name
	consent.flags.ignore_permissions = True
	consent.save()
	return doc.name


def receive_retrying(form) -> dict:
	"""``receive`` in its own transaction, tried again (from a fresh snapshot) when it lost a race:
	on PostgreSQL two messages of one customer update the same Customer / Issue row (Frappe's
	``_comments``), two new Issues the same naming series row."""
	return retrying(receive, form)


def received(message_sid: str) -> str | None:
	return frappe.db.get_value(
		"Communication", {"message_id": message_sid, "communication_medium": "SMS"}, "name"
	)


def receive(form) -> dict:
	"""Store one verified inbound SMS (Twilio's webhook fields), at most once per MessageSid."""
	sid = str(form.get("MessageSid") or form.get("SmsSid") or "")[:64]
	body = str(form.get("Body") or "")[:MAX_BODY]
	e164 = to_e164(str(form.get("From") or ""))
	if not sid:
		return {"ok": False}
	existing = received(sid)
	if existing:
		return {"ok": True, "duplicate": True, "communication": existing}
	# two deliveries of one message at once: the first claims it, the other is told to try
	# again (409: never a 200 for a message not stored). The claim is dropped when the
	# request fails, even when the database is gone and its rollback fails with it (then
	# after_rollback never runs); a request killed outright leaves it CLAIM_SECONDS at most.
	claim = frappe.cache.make_key(f"gigafibre_fsm:twilio_sms:{sid}")
	if not frappe.cache.set(claim, 1, nx=True, ex=CLAIM_SECONDS):
		frappe.throw(_("This message is being stored by another request; try again"), ConflictError)
	frappe.db.after_rollback.add(lambda: _release(claim))
	try:
		return _store(form, sid, body, e164)
	except BaseException:
		_release(claim)
		raise


def _release(claim: str) -> None:
	try:
		frappe.cache.delete(claim)
	except Exception:  # Redis is the failing side: its restart forgot the claim, or it expires
		pass


def _store(form, sid: str, body: str, e164: str | None) -> dict:
	word = rules.keyword(body)
	if e164 and word in (rules.STOP, rules.START):
		set_consent(e164, word, sid)
	party = find_party(e164)
	issue = open_issue(party.customer) if party.customer else None
	if not party.customer and e164 and word is None:
		issue = _triage_issue(e164, body)
	comm = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": "SMS",
			"sent_or_received": "Received",
			"subject": _("SMS from {0}").format(e164 or form.get("From") or "?"),
			"content": escape_html(body).replace("\n", "<br>"),
			"phone_no": e164 or str(form.get("From") or "")[:140],
			"sender_full_name": e164,
			"message_id": sid,
			"communication_date": now_datetime(),
			"reference_doctype": "Issue" if issue else ("Customer" if party.customer else None),
			"reference_name": issue or party.customer,
		}
	)
	if party.customer:
		comm.append("timeline_links", {"link_doctype": "Customer", "link_name": party.customer})
	if party.contact:
		comm.append("timeline_links", {"link_doctype": "Contact", "link_name": party.contact})
	comm.flags.ignore_permissions = True
	try:
		comm.insert()
	except frappe.UniqueValidationError:
		frappe.clear_last_message()
		return {"ok": True, "duplicate": True}
	_publish(comm, party.customer, issue, word)
	if word is None:
		_fire(issue, party.customer, sid)
	frappe.logger(LOG).info(
		{"event": "sms_received", "from": masked(e164), "communication": comm.name, "keyword": word}
	)
	return {"ok": True, "duplicate": False, "communication": comm.name, "keyword": word}


def _staff_users() -> list[str]:
	users = frappe.get_all(
		"Has Role", filters={"role": STAFF_ROLE, "parenttype": "User"}, pluck="parent", limit=500
	)
	if not users:
		return []
	return frappe.get_all(
		"User", filters={"name": ["in", users], "enabled": 1, "user_type": "System User"}, pluck="name"
	)


def _publish(comm, customer: str | None, issue: str | None, word: str | None) -> None:
	payload = {
		"communication": comm.name,
		"direction": comm.sent_or_received,
		"customer": customer,
		"issue": issue,
		"phone": comm.phone_no,
		"keyword": word,
		"date": str(comm.communication_date),
	}
	if customer:
		frappe.publish_realtime(EVENT, payload, doctype="Customer", docname=customer, after_commit=True)
	if issue:
		frappe.publish_realtime(EVENT, payload, doctype="Issue", docname=issue, after_commit=True)
	for user in _staff_users():
		frappe.publish_realtime(EVENT, payload, user=user, after_commit=True)


def _fire(issue: str | None, customer: str | None, sid: str) -> None:
	from gigafibre_fsm.flows import fire

	if issue:
		fire("on_sms_received", frappe.get_doc("Issue", issue), occurrence=sid)
	elif customer:
		fire("on_sms_received", frappe.get_doc("Customer", customer), occurrence=sid)


def keyword_reply(form) -> str | None:
	"""The reply to a STOP/START/HELP message, when Gigafibre Settings asks to answer them."""
	if not get_settings().comms.keyword_replies:
		return None
	return rules.REPLIES.get(rules.keyword(str(form.get("Body") or "")))


# -- outbound from the desk ------------------------------------------------------------------


def status_callback_url() -> str | None:
	base = get_settings().comms.public_base_url
	return f"{base}{STATUS_WEBHOOK}" if base else None


@dataclass(frozen=True)
class Thread:
	"""Where a desk SMS goes on the timeline: a received SMS (Communication) stands for its own
	thread (its Issue or customer) and gives the number it came from."""

	reference_doctype: str | None
	reference_name: str | None
	customer: str | None = None
	issue: str | None = None
	phone: str | None = None


def thread_of(reference_doctype: str, reference_name: str) -> Thread:
	phone = None
	if reference_doctype == "Communication":
		parent = frappe.db.get_value(
			"Communication", reference_name, ["phone_no", "reference_doctype", "reference_name"], as_dict=True
		)
		phone = parent.phone_no
		reference_doctype, reference_name = parent.reference_doctype, parent.reference_name
	customer = issue = None
	if reference_doctype == "Issue":
		issue = reference_name
		customer = frappe.db.get_value("Issue", issue, "customer")
	elif reference_doctype == "Customer":
		customer = reference_name
	return Thread(reference_doctype if reference_name else None, reference_name, customer, issue, phone)


def recipients(thread: Thread) -> list[dict]:
	"""The numbers a desk SMS on ``thread`` may go to, the default first: the number of the
	received SMS it answers, the customer's cell phone, their contacts' phones, the numbers that
	texted on the Issue; each with its consent (``opted_out``: the number texted STOP)."""
	found: list[dict] = []

	def add(raw, label):
		e164 = to_e164(raw)
		if e164 and all(n["number"] != e164 for n in found):
			found.append({"number": e164, "label": label, "opted_out": opted_out(e164)})

	add(thread.phone, _("Sender of this SMS"))
	if thread.customer:
		add(frappe.db.get_value("Customer", thread.customer, "cell_phone"), _("Cell phone"))
		for phone, contact in _contact_phones(thread.customer):
			add(phone, contact)
	if thread.issue:  # who texted on this Issue (an unknown number's triage Issue: only them)
		senders = frappe.get_all(
			"Communication",
			filters={
				"reference_doctype": "Issue",
				"reference_name": thread.issue,
				"communication_medium": "SMS",
				"sent_or_received": "Received",
			},
			pluck="phone_no",
			order_by="communication_date desc",
			limit=5,
		)
		for phone in senders:
			add(phone, _("Texted on this Issue"))
	return found


def desk_message(reference_doctype: str, reference_name: str, body: str, to: str | None = None) -> dict:
	"""An SMS typed at the desk on a thread, to one of the thread's numbers (default: the first of
	``recipients``). Refused for a number that texted STOP: the agent chose the words, the app
	cannot tell a service message from any other, and Twilio itself blocks a number's messages
	after STOP until START (README, SMS consent)."""
	thread = thread_of(reference_doctype, reference_name)
	numbers = recipients(thread)
	if to:
		e164 = to_e164(to)
		if e164 not in [n["number"] for n in numbers]:
			frappe.throw(
				_("{0} is not a phone number of this conversation or customer").format(to),
				GigafibreValidationError,
			)
	elif numbers:
		e164 = numbers[0]["number"]
	else:
		frappe.throw(_("There is no valid phone number to text"), GigafibreValidationError)
	if opted_out(e164):
		frappe.throw(
			_(
				"{0} texted STOP: it gets no SMS from us until it texts START again. Call the customer or write an e-mail instead."
			).format(e164),
			GigafibreValidationError,
			title=_("SMS refused"),
		)
	return queue_reply(reference_doctype, reference_name, body, to=e164, ignore_permissions=True)


def queue_reply(
	reference_doctype: str,
	reference_name: str,
	body: str,
	to: str | None = None,
	*,
	ignore_permissions: bool = False,
) -> dict:
	"""An outgoing SMS on a Customer's, an Issue's or a received Communication's thread, sent by a
	job after commit. It does not ask for consent: the callers are service messages (the pay link
	a caller asks for) or ``desk_message``, which checks it."""
	body = (body or "").strip()
	if not body:
		frappe.throw(_("The message is empty"), frappe.ValidationError)
	if len(body) > MAX_BODY:
		frappe.throw(_("An SMS holds at most {0} characters").format(MAX_BODY), frappe.ValidationError)
	thread = thread_of(reference_doctype, reference_name)
	customer, issue = thread.customer, thread.issue
	to = to or thread.phone
	if not to and customer:
		to = frappe.db.get_value("Customer", customer, "cell_phone") or next(
			(phone for phone, _contact in _contact_phones(customer)), None
		)
	e164 = to_e164(to)
	if not e164:
		frappe.throw(_("There is no valid phone number to text"), frappe.ValidationError)
	comm = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": "SMS",
			"sent_or_received": "Sent",
			"subject": _("SMS to {0}").format(e164),
			"content": escape_html(body).replace("\n", "<br>"),
			"text_content": body,
			"phone_no": e164,
			"delivery_status": "Sending",
			"gigafibre_sms_status": "queued",
			"communication_date": now_datetime(),
			"reference_doctype": thread.reference_doctype,
			"reference_name": thread.reference_name,
		}
	)
	if customer:
		comm.append("timeline_links", {"link_doctype": "Customer", "link_name": customer})
	comm.flags.ignore_permissions = ignore_permissions
	comm.insert()
	frappe.enqueue(
		"gigafibre_fsm.gigafibre_integrations.sms.send_queued",
		queue="short",
		enqueue_after_commit=True,
		job_id=f"gigafibre_fsm:sms_reply:{comm.name}",
		deduplicate=True,
		communication=comm.name,
	)
	_publish(comm, customer, issue, None)
	return {"communication": comm.name, "to": e164, "status": "Sending"}


def _contact_phones(customer: str) -> list[tuple[str, str]]:
	"""(phone, contact name) of the Contacts linked to the customer, oldest contact first."""
	contacts = frappe.get_all(
		"Dynamic Link",
		filters={"parenttype": "Contact", "link_doctype": "Customer", "link_name": customer},
		pluck="parent",
		order_by="creation asc",
		limit=20,
	)
	if not contacts:
		return []
	rows = frappe.get_all(
		"Contact Phone",
		filters={"parent": ["in", contacts], "parenttype": "Contact"},
		fields=["phone", "parent"],
		order_by="creation asc",
		limit=40,
	)
	names = dict(
		frappe.get_all(
			"Contact", filters={"name": ["in", contacts]}, fields=["name", "full_name"], as_list=True
		)
	)
	return [(row.phone, names.get(row.parent) or row.parent) for row in rows]


def send_queued(communication: str) -> str:
	"""Job: send one outgoing SMS Communication once (a sent one has its sid and is skipped)."""
	doc = frappe.get_doc("Communication", communication, for_update=True)
	if doc.message_id or doc.delivery_status != "Sending":
		return doc.delivery_status
	body = doc.text_content or frappe.utils.strip_html(doc.content or "")
	try:
		sent = twilio.send_sms(
			get_settings().twilio, doc.phone_no, body, status_callback=status_callback_url()
		)
	except ConnectorError as e:
		doc.db_set({"delivery_status": "Error", "gigafibre_sms_status": "failed"})
		doc.add_comment("Info", _("The SMS was not sent: {0}").format(str(e)[:300]))
		return "Error"
	doc.db_set({"message_id": sent.sid, "delivery_status": "Sent", "gigafibre_sms_status": sent.status})
	return "Sent"


def update_status(form) -> dict:
	"""A Twilio status callback: the outgoing message's delivery status, never moved back."""
	sid = str(form.get("MessageSid") or form.get("SmsSid") or "")[:64]
	status = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()[:20]
	if not sid or status not in rules.STATUS_ORDER:
		return {"ok": True, "updated": 0}
	updated = 0
	name = frappe.db.get_value(
		"Communication",
		{"message_id": sid, "communication_medium": "SMS", "sent_or_received": "Sent"},
		["name", "gigafibre_sms_status"],
		as_dict=True,
	)
	if name and rules.advances(name.gigafibre_sms_status, status):
		frappe.db.set_value(
			"Communication",
			name.name,
			{"gigafibre_sms_status": status, "delivery_status": rules.DELIVERY_STATUS[status]},
			update_modified=False,
		)
		updated += 1
	notification = frappe.db.get_value(
		"Dispatch Notification", {"sid": sid}, ["name", "delivery_status"], as_dict=True
	)
	if notification and rules.advances(notification.delivery_status, status):
		frappe.db.set_value(
			"Dispatch Notification", notification.name, "delivery_status", status, update_modified=False
		)
		updated += 1
	return {"ok": True, "updated": updated}
