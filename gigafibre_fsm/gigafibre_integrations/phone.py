"""The phone menu (Twilio voice): what the site knows about a caller, the menu's side effects.

``answer(form, query)`` is called by the ``twilio_voice`` webhook after its signature check for
every request of a call (the first one and each gather / dial / recording follow-up, told apart
by the ``step`` query parameter the previous answer put in the URL). The decisions are pure
(core/comms/phone_menu.py); this module gathers the caller's facts — matched by number like SMS,
the known outage on their service (``gigafibre_fsm.network.outage_notice.active_outage_for_customer``
when that module is installed), the last state of their equipment, their balance and next due
date — and performs the side effects: a callback Issue, the pay link by SMS, a voicemail Issue
with the recording attached (its transcription is added when Twilio posts it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import frappe
from frappe import _
from frappe.query_builder import Order
from frappe.query_builder.functions import Min, Sum
from frappe.utils import escape_html, now_datetime

from gigafibre_fsm.connectors import twilio
from gigafibre_fsm.core.comms import phone_menu as pm
from gigafibre_fsm.core.comms.phones import masked, to_e164
from gigafibre_fsm.gigafibre_integrations import sms
from gigafibre_fsm.settings import get_settings

WEBHOOK = "/api/method/gigafibre_fsm.api.webhooks.twilio_voice"
LOG = "gigafibre_fsm.phone"


def active_outage(customer: str) -> pm.Outage | None:
	"""The known outage on the customer's service (gigafibre_fsm.network.outages), or None."""
	from gigafibre_fsm.network.outage_notice import active_outage_for_customer

	found = active_outage_for_customer(customer)
	if not found:
		return None
	return pm.Outage(started=_aware(found.get("started")), expected_end=_aware(found.get("expected_end")))


def _aware(value) -> datetime | None:
	"""A stored (site time zone, naive) datetime as an aware one."""
	if not value:
		return None
	moment = frappe.utils.get_datetime(value)
	if moment.tzinfo is not None:
		return moment
	from zoneinfo import ZoneInfo

	return moment.replace(tzinfo=ZoneInfo(frappe.utils.get_system_timezone()))


def line_of(customer: str) -> str | None:
	eqp = frappe.qb.DocType("Service Equipment")
	rows = (
		frappe.qb.from_(eqp)
		.select(eqp.last_online, eqp.last_rx_dbm)
		.where((eqp.customer == customer) & (eqp.status == "Active") & eqp.last_inform.isnotnull())
		.orderby(eqp.last_inform, order=Order.desc)
		.limit(1)
	).run(as_dict=True)
	if not rows:
		return None
	return pm.line_state(bool(rows[0].last_online), rows[0].last_rx_dbm)


def balance_of(customer: str) -> tuple[Decimal, date | None]:
	inv = frappe.qb.DocType("Sales Invoice")
	row = (
		frappe.qb.from_(inv)
		.select(Sum(inv.outstanding_amount), Min(inv.due_date))
		.where((inv.customer == customer) & (inv.docstatus == 1) & (inv.outstanding_amount > 0))
	).run()
	total, due = row[0] if row else (None, None)
	return Decimal(str(total or 0)), frappe.utils.getdate(due) if due else None


def caller_facts(customer: str | None, step: str) -> pm.Caller:
	"""Only what the step needs (each request of a call is a new webhook call)."""
	if not customer:
		return pm.Caller()
	outage = line = balance = due = None
	if step == "menu":
		outage = active_outage(customer)
		line = line_of(customer)
		balance, due = balance_of(customer)
	return pm.Caller(known=True, outage=outage, line=line, balance=balance, next_due=due)


def holidays_today(now: datetime, holiday_list: str) -> frozenset[date]:
	if not holiday_list:
		return frozenset()
	today = pm.local(now).date()
	if frappe.db.exists(
		"Holiday", {"parent": holiday_list, "parenttype": "Holiday List", "holiday_date": today}
	):
		return frozenset({today})
	return frozenset()


def hours(comms) -> pm.BusinessHours:
	return pm.BusinessHours(
		weekday_open=pm.parse_time(comms.weekday_open),
		weekday_close=pm.parse_time(comms.weekday_close),
		saturday_open=pm.parse_time(comms.saturday_open),
		saturday_close=pm.parse_time(comms.saturday_close),
	)


def action_url(request_url: str) -> str:
	base = get_settings().comms.public_base_url
	return f"{base}{WEBHOOK}" if base else request_url.split("?", 1)[0]


def answer(form, query, request_url: str, now: datetime | None = None) -> str:
	"""TwiML for one request of a call."""
	settings = get_settings().comms
	step = str(query.get("step") or "start")[:20]
	if step == "transcription":
		add_transcription(form)
		return twilio.messaging_twiml()  # an empty <Response/>: Twilio ignores the body
	now = now or datetime.now(UTC)
	e164 = to_e164(str(form.get("From") or ""))
	customer = sms.find_party(e164).customer
	decision = pm.decide(
		step if step in pm.STEPS else "start",
		digits=str(form.get("Digits") or "") or None,
		attempt=_int(query.get("attempt")),
		lang=str(query.get("lang") or "fr"),
		caller=caller_facts(customer, step),
		now=now,
		hours=hours(settings),
		holidays=holidays_today(now, settings.holiday_list),
		dial_status=str(form.get("DialCallStatus") or "") or None,
	)
	if decision.action == pm.OPEN_TICKET and customer:
		open_callback_issue(customer, e164, str(form.get("CallSid") or ""))
	elif decision.action == pm.SEND_PAY_LINK and customer:
		send_pay_link(customer, e164, str(query.get("lang") or "fr"))
	elif decision.action == pm.VOICEMAIL:
		file_voicemail(form, customer, e164)
	return twilio.voice_twiml(decision, action_url=action_url(request_url), queues=settings.queues)


def _int(value) -> int:
	try:
		return int(str(value or "1")[:3])
	except ValueError:
		return 1


def _phone_comm(message_id: str, e164: str | None, subject: str, content: str, ref: tuple, customer):
	comm = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": "Phone",
			"sent_or_received": "Received",
			"subject": subject,
			"content": content,
			"phone_no": e164,
			"message_id": message_id,
			"communication_date": now_datetime(),
			"reference_doctype": ref[0],
			"reference_name": ref[1],
		}
	)
	if customer:
		comm.append("timeline_links", {"link_doctype": "Customer", "link_name": customer})
	comm.flags.ignore_permissions = True
	return comm.insert()


def _new_issue(subject: str, description: str, customer: str | None) -> str:
	issue = frappe.new_doc("Issue")
	issue.subject = subject
	issue.description = description
	if customer:
		issue.customer = customer
	issue.flags.ignore_permissions = True
	issue.insert()
	return issue.name


def open_callback_issue(customer: str, e164: str | None, call_sid: str) -> str:
	key = f"{call_sid}:ticket"
	existing = frappe.db.get_value("Communication", {"message_id": key}, "reference_name")
	if existing:
		return existing
	issue = sms.open_issue(customer) or _new_issue(
		_("Callback requested from the phone menu"),
		_("The caller ({0}) asked for a ticket in the phone menu's support branch.").format(e164),
		customer,
	)
	_phone_comm(
		key,
		e164,
		_("Callback requested"),
		_("Ticket asked for in the phone menu"),
		("Issue", issue),
		customer,
	)
	return issue


def pay_link(customer: str) -> str | None:
	"""The caller's pay link: with Stripe set up, the signed link of their oldest unpaid invoice
	(gigafibre_fsm.customers.account.pay_url); else Gigafibre Settings' Payment Link URL."""
	settings = get_settings()
	if settings.stripe.configured:
		invoice = frappe.db.get_value(
			"Sales Invoice",
			{"customer": customer, "docstatus": 1, "outstanding_amount": [">", 0]},
			"name",
			order_by="due_date asc",
		)
		if invoice:
			from gigafibre_fsm.customers.account import pay_url

			return pay_url(invoice)
	return settings.comms.pay_link_url or None


def send_pay_link(customer: str, e164: str | None, lang: str) -> str | None:
	url = pay_link(customer)
	if not url or not e164:
		return None
	text = (
		f"Gigafibre : pour payer votre solde, {url}"
		if lang != "en"
		else f"Gigafibre: to pay your balance, {url}"
	)
	return sms.queue_reply("Customer", customer, text, to=e164, ignore_permissions=True)["communication"]


def file_voicemail(form, customer: str | None, e164: str | None) -> str | None:
	"""The recording as an Issue (the customer's, else a new one), once per RecordingSid; its
	audio is downloaded from Twilio by a job after the commit and attached to the Issue as a
	private file (``attach_voicemail``). A recording address that is not one of this account's
	recordings on Twilio's API host files nothing (the app never fetches an address a request
	chose)."""
	recording = str(form.get("RecordingSid") or "")[:64]
	url = str(form.get("RecordingUrl") or "")[:500]
	if not recording or not twilio.recording_media_url(get_settings().twilio, url):
		return None
	if frappe.db.exists("Communication", {"message_id": recording}):
		return None
	duration = _int(form.get("RecordingDuration"))
	issue = _new_issue(
		_("Voicemail from {0}").format(e164 or _("an unknown number")),
		_("Voicemail of {0} s. Recording: {1}").format(duration, escape_html(url)),
		customer,
	)
	_phone_comm(
		recording,
		e164,
		_("Voicemail"),
		_("Voicemail of {0} s, recording attached; transcription to follow.").format(duration),
		("Issue", issue),
		customer,
	)
	frappe.enqueue(
		"gigafibre_fsm.gigafibre_integrations.phone.attach_voicemail",
		queue="short",
		enqueue_after_commit=True,
		job_id=f"gigafibre_fsm:voicemail:{recording}",
		deduplicate=True,
		issue=issue,
		recording=recording,
		url=url,
	)
	frappe.logger(LOG).info({"event": "voicemail", "from": masked(e164), "issue": issue})
	return issue


def voicemail_file_name(recording: str) -> str:
	return f"voicemail-{recording}.mp3"


def attach_voicemail(issue: str, recording: str, url: str) -> str | None:
	"""Download the recording's audio and attach it to the Issue as a private file, once. If
	Twilio cannot give it, the Issue says so in a comment (the recording's address is in its
	description) instead of failing silently."""
	from gigafibre_fsm.connectors.errors import ConnectorError

	name = voicemail_file_name(recording)
	existing = frappe.db.get_value(
		"File", {"attached_to_doctype": "Issue", "attached_to_name": issue, "file_name": name}
	)
	if existing:
		return existing
	try:
		audio = twilio.fetch_recording(get_settings().twilio, url)
	except ConnectorError as e:
		frappe.get_doc("Issue", issue).add_comment(
			"Info",
			_("The voicemail's audio could not be downloaded from Twilio: {0}").format(escape_html(str(e))),
		)
		frappe.logger(LOG).warning({"event": "voicemail_download_failed", "issue": issue, "error": str(e)})
		return None
	file = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": name,
			"attached_to_doctype": "Issue",
			"attached_to_name": issue,
			"is_private": 1,
			"content": audio,
		}
	).insert(ignore_permissions=True)
	return file.name


def add_transcription(form) -> None:
	recording = str(form.get("RecordingSid") or "")[:64]
	text = str(form.get("TranscriptionText") or "")[:5000]
	if not recording:
		return
	comm = frappe.db.get_value(
		"Communication", {"message_id": recording}, ["name", "reference_name"], as_dict=True
	)
	if not comm:
		return
	content = _("Voicemail transcription: {0}").format(escape_html(text)) if text else _("No transcription")
	frappe.db.set_value("Communication", comm.name, "content", content)
	if comm.reference_name:
		issue = frappe.get_doc("Issue", comm.reference_name)
		issue.add_comment("Info", content)
