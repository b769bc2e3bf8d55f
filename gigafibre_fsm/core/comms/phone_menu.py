"""The phone menu's decisions, as plain values the Twilio connector turns into TwiML.

Each webhook call of the menu names a ``step`` (``start``, ``menu``, ``support``, ``billing``,
``voicemail``); ``decide`` takes that step, the digits pressed (None when the caller pressed
nothing before the gather's timeout), the attempt, the language, what is known about the caller
and the time, and returns the verbs to answer plus the one side effect the Frappe layer must
perform (open a ticket, text the pay link, file a voicemail).

- French first; 9 switches to English for the rest of the call.
- Outside business hours (America/Toronto; weekdays and Saturday from settings, Sunday closed,
  a statutory holiday closed all day): a voicemail, which becomes an Issue.
- 1 support: a known outage on the caller's service is said with its expected end; else the last
  diagnosis in plain words (online, offline, weak signal); then 1 opens a ticket, 2 the queue.
- 2 billing: the balance due and the next due date; then 1 texts the pay link, 2 the queue.
- 3 sales: the sales queue. 0: the support queue.
- Every gather waits ``GATHER_TIMEOUT`` seconds; no answer or a wrong key asks again once
  (``MAX_ATTEMPTS``), then the caller goes to the queue. A queue that does not answer (or none
  configured) ends in the voicemail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from gigafibre_fsm.core.billing.statement import format_date

TZ = ZoneInfo("America/Toronto")
GATHER_TIMEOUT = 6
MAX_ATTEMPTS = 2
VOICEMAIL_MAX_SECONDS = 120
LANGS = ("fr", "en")
VOICE_LANG = {"fr": "fr-CA", "en": "en-CA"}

ONLINE, OFFLINE, WEAK = "online", "offline", "weak"
WEAK_SIGNAL_DBM = -25.0  # below this the optical receive power points to a dirty connector or a break

# side effects the Frappe layer performs
OPEN_TICKET = "open_ticket"
SEND_PAY_LINK = "send_pay_link"
VOICEMAIL = "voicemail"
SUPPORT_QUEUE, BILLING_QUEUE, SALES_QUEUE = "support", "billing", "sales"


# -- what the connector renders ------------------------------------------------------------


@dataclass(frozen=True)
class Say:
	text: str
	lang: str


@dataclass(frozen=True)
class Gather:
	prompt: tuple[Say, ...]
	params: dict  # the next webhook call's query (step, lang, attempt)
	timeout: int = GATHER_TIMEOUT
	num_digits: int = 1


@dataclass(frozen=True)
class Redirect:
	params: dict


@dataclass(frozen=True)
class Dial:
	"""Ring a queue; Twilio then calls ``params`` (step ``after_dial``) with DialCallStatus. With no
	number configured for the queue the connector goes straight to ``params``."""

	queue: str  # support | billing | sales: the Frappe layer puts the number from settings
	params: dict
	timeout: int = 30


@dataclass(frozen=True)
class Record:
	params: dict  # the recording's action (step=voicemail)
	max_length: int = VOICEMAIL_MAX_SECONDS


@dataclass(frozen=True)
class Hangup:
	pass


Verb = Say | Gather | Redirect | Dial | Record | Hangup


@dataclass(frozen=True)
class Decision:
	verbs: tuple[Verb, ...]
	action: str | None = None  # OPEN_TICKET | SEND_PAY_LINK | VOICEMAIL | None


# -- what the Frappe layer knows -----------------------------------------------------------


@dataclass(frozen=True)
class BusinessHours:
	"""Opening times per kind of day (None: closed). Sunday is closed."""

	weekday_open: time | None = time(8, 0)
	weekday_close: time | None = time(20, 0)
	saturday_open: time | None = time(9, 0)
	saturday_close: time | None = time(17, 0)


@dataclass(frozen=True)
class Outage:
	started: datetime | None = None
	expected_end: datetime | None = None


@dataclass(frozen=True)
class Caller:
	known: bool = False
	outage: Outage | None = None
	line: str | None = None  # ONLINE | OFFLINE | WEAK | None (no equipment or never seen)
	balance: Decimal | None = None
	next_due: date | None = None


def parse_time(value) -> time | None:
	"""A settings time (``time``, ``timedelta`` as Frappe gives Time fields, ``"8:00"``,
	``"08:00:00"``) or None when empty; ValueError when unreadable."""
	if value in (None, ""):
		return None
	if isinstance(value, time):
		return value
	if isinstance(value, timedelta):
		seconds = int(value.total_seconds()) % 86400
		return time(seconds // 3600, seconds % 3600 // 60)
	parts = str(value).strip().split(":")
	if not 2 <= len(parts) <= 3:
		raise ValueError(f"Not a time of day: {value!r}")
	return time(int(parts[0]), int(parts[1]), int(float(parts[2])) if len(parts) == 3 else 0)


def local(moment: datetime) -> datetime:
	"""``moment`` in America/Toronto (a naive datetime is taken as already local)."""
	return moment.replace(tzinfo=TZ) if moment.tzinfo is None else moment.astimezone(TZ)


def is_open(now: datetime, hours: BusinessHours, holidays: set[date] | frozenset[date]) -> bool:
	here = local(now)
	if here.date() in holidays:
		return False
	weekday = here.weekday()
	if weekday == 6:
		return False
	opens, closes = (
		(hours.saturday_open, hours.saturday_close)
		if weekday == 5
		else (hours.weekday_open, hours.weekday_close)
	)
	if opens is None or closes is None:
		return False
	return opens <= here.time().replace(tzinfo=None) < closes


def line_state(online: bool | None, rx_dbm: float | None) -> str | None:
	"""The last diagnosis in plain words: offline, weak signal (optical power below −25 dBm) or
	online; None when the equipment was never seen."""
	if online is None:
		return None
	if not online:
		return OFFLINE
	if rx_dbm is not None and rx_dbm < WEAK_SIGNAL_DBM:
		return WEAK
	return ONLINE


# -- words ---------------------------------------------------------------------------------

TEXT = {
	"fr": {
		"welcome": "Bonjour, vous avez joint Gigafibre.",
		"found": "Nous avons trouvé votre compte.",
		"menu": (
			"Pour le soutien technique, faites le 1. Pour la facturation, faites le 2. "
			"Pour les ventes, faites le 3. Pour parler à un agent, faites le 0."
		),
		"invalid": "Ce choix n'est pas valide.",
		"no_account": "Nous n'avons pas trouvé de compte associé à ce numéro.",
		"outage": "Une panne touche actuellement votre secteur{since}.",
		"outage_since": " depuis {time}",
		"outage_end": "Le retour du service est prévu vers {time}.",
		"outage_no_end": "Nos techniciens y travaillent.",
		ONLINE: "Votre service est en ligne.",
		OFFLINE: "Votre modem est hors ligne.",
		WEAK: "Le signal optique de votre service est faible.",
		"unknown_line": "Nous n'avons pas de lecture récente de votre équipement.",
		"support_menu": "Pour ouvrir un billet, faites le 1. Pour parler à un technicien, faites le 2.",
		"ticket": "Un billet a été ouvert. Nous vous rappellerons. Au revoir.",
		"balance": "Votre solde est de {amount}.",
		"no_balance": "Vous n'avez aucun solde à payer.",
		"next_due": "La prochaine échéance est le {date}.",
		"billing_menu": (
			"Pour recevoir le lien de paiement par texto, faites le 1. Pour parler à un agent, faites le 2."
		),
		"pay_link": "Le lien de paiement vous a été envoyé par texto. Au revoir.",
		"closed": (
			"Nos bureaux sont fermés. Laissez votre nom, votre numéro et votre message après le "
			"signal. Nous vous rappellerons."
		),
		"no_agent": "Aucun agent n'est disponible. Laissez un message après le signal.",
		"thanks": "Merci, votre message a été reçu. Au revoir.",
		"queue": "Un instant, nous transférons votre appel.",
	},
	"en": {
		"welcome": "Hello, you have reached Gigafibre.",
		"found": "We found your account.",
		"menu": (
			"For technical support, press 1. For billing, press 2. For sales, press 3. "
			"To speak with an agent, press 0."
		),
		"invalid": "That choice is not valid.",
		"no_account": "We did not find an account for this number.",
		"outage": "An outage is currently affecting your area{since}.",
		"outage_since": " since {time}",
		"outage_end": "Service is expected back by {time}.",
		"outage_no_end": "Our technicians are working on it.",
		ONLINE: "Your service is online.",
		OFFLINE: "Your modem is offline.",
		WEAK: "The optical signal of your service is weak.",
		"unknown_line": "We have no recent reading of your equipment.",
		"support_menu": "To open a ticket, press 1. To speak with a technician, press 2.",
		"ticket": "A ticket was opened. We will call you back. Goodbye.",
		"balance": "Your balance is {amount}.",
		"no_balance": "You have no balance due.",
		"next_due": "Your next due date is {date}.",
		"billing_menu": "To receive the payment link by text message, press 1. To speak with an agent, press 2.",
		"pay_link": "The payment link was sent to you by text message. Goodbye.",
		"closed": (
			"Our offices are closed. Please leave your name, number and message after the tone. "
			"We will call you back."
		),
		"no_agent": "No agent is available. Please leave a message after the tone.",
		"thanks": "Thank you, your message was received. Goodbye.",
		"queue": "One moment, we are transferring your call.",
	},
}


def say_time(moment: datetime, lang: str, today: date) -> str:
	here = local(moment)
	if lang == "fr":
		clock = f"{here.hour} h {here.minute:02d}" if here.minute else f"{here.hour} h"
		day = "" if here.date() == today else f"le {say_date(here.date(), lang)} à "
		return f"{day}{clock}"
	hour12 = here.hour % 12 or 12
	clock = f"{hour12}:{here.minute:02d} {'AM' if here.hour < 12 else 'PM'}"
	return clock if here.date() == today else f"{clock} on {say_date(here.date(), lang)}"


def say_date(day: date, lang: str) -> str:
	"""``1er décembre 2026`` / ``December 1, 2026``: the invoices' own way of writing a date."""
	return format_date(day, lang)


def say_amount(amount: Decimal, lang: str) -> str:
	cents = int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
	dollars, rest = divmod(abs(cents), 100)
	if lang == "fr":
		text = f"{dollars} dollars" + (f" et {rest} cents" if rest else "")
	else:
		text = f"{dollars} dollars" + (f" and {rest} cents" if rest else "")
	return text


# -- the decisions -------------------------------------------------------------------------


def _lang(lang: str | None) -> str:
	return lang if lang in LANGS else "fr"


def _say(lang: str, *keys: str, **fmt) -> tuple[Say, ...]:
	out = []
	for key in keys:
		text = TEXT[lang][key].format(**fmt) if fmt else TEXT[lang][key]
		if text:
			out.append(Say(text, lang))
	return tuple(out)


def _params(step: str, lang: str, attempt: int = 1) -> dict:
	return {"step": step, "lang": lang, "attempt": str(attempt)}


def _main_menu(lang: str, attempt: int, intro: tuple[Say, ...] = ()) -> Decision:
	english = (Say("For English, press 9.", "en"),) if lang == "fr" else ()
	prompt = (*intro, *_say(lang, "menu"), *english)
	return Decision(
		(Gather(prompt, _params("menu", lang, attempt)), Redirect(_params("menu", lang, attempt)))
	)


def _queue(lang: str, queue: str, intro: tuple[Say, ...] = ()) -> Decision:
	"""The queue; when nobody answers (or none is configured) the voicemail (step after_dial)."""
	return Decision((*intro, *_say(lang, "queue"), Dial(queue, _params("after_dial", lang))))


def _voicemail(lang: str, key: str) -> Decision:
	return Decision((*_say(lang, key), Record(_params("voicemail", lang)), *_say(lang, "thanks"), Hangup()))


def _retry_or_queue(step: str, lang: str, attempt: int, pressed: bool, queue: str, repeat) -> Decision:
	"""Nothing pressed or a wrong key: once more, then the queue."""
	if attempt >= MAX_ATTEMPTS:
		return _queue(lang, queue)
	intro = _say(lang, "invalid") if pressed else ()
	return repeat(attempt + 1, intro)


def _support_menu(lang: str, attempt: int, intro: tuple[Say, ...]) -> Decision:
	return Decision(
		(
			Gather((*intro, *_say(lang, "support_menu")), _params("support", lang, attempt)),
			Redirect(_params("support", lang, attempt)),
		)
	)


def _billing_menu(lang: str, attempt: int, intro: tuple[Say, ...]) -> Decision:
	return Decision(
		(
			Gather((*intro, *_say(lang, "billing_menu")), _params("billing", lang, attempt)),
			Redirect(_params("billing", lang, attempt)),
		)
	)


def support_status(caller: Caller, lang: str, now: datetime) -> tuple[Say, ...]:
	"""What the support branch says first: the known outage, else the line's state."""
	today = local(now).date()
	if caller.outage is not None:
		since = (
			TEXT[lang]["outage_since"].format(time=say_time(caller.outage.started, lang, today))
			if caller.outage.started
			else ""
		)
		words = list(_say(lang, "outage", since=since))
		if caller.outage.expected_end:
			words += _say(lang, "outage_end", time=say_time(caller.outage.expected_end, lang, today))
		else:
			words += _say(lang, "outage_no_end")
		return tuple(words)
	return _say(lang, caller.line if caller.line in (ONLINE, OFFLINE, WEAK) else "unknown_line")


def billing_status(caller: Caller, lang: str) -> tuple[Say, ...]:
	if caller.balance is None or caller.balance <= 0:
		return _say(lang, "no_balance")
	words = list(_say(lang, "balance", amount=say_amount(caller.balance, lang)))
	if caller.next_due:
		words += _say(lang, "next_due", date=say_date(caller.next_due, lang))
	return tuple(words)


def decide(
	step: str,
	*,
	digits: str | None,
	attempt: int,
	lang: str | None,
	caller: Caller,
	now: datetime,
	hours: BusinessHours,
	holidays: set[date] | frozenset[date] = frozenset(),
	dial_status: str | None = None,
) -> Decision:
	"""The answer to one webhook call of the menu (see the module docstring). ``dial_status`` is
	Twilio's DialCallStatus on the ``after_dial`` step."""
	lang = _lang(lang)
	attempt = max(1, min(int(attempt or 1), MAX_ATTEMPTS))
	digits = (digits or "").strip()[:1] or None

	if step == "voicemail":  # the recording is done: file it
		return Decision((*_say(lang, "thanks"), Hangup()), action=VOICEMAIL)

	if step == "after_dial":  # the queue answered and the call ended, or nobody answered
		if dial_status in ("completed", "answered"):
			return Decision((Hangup(),))
		return _voicemail(lang, "no_agent")

	if step == "start":
		if not is_open(now, hours, holidays):
			return _voicemail(lang, "closed")
		intro = _say(lang, "welcome", *(("found",) if caller.known else ()))
		return _main_menu(lang, 1, intro)

	if step == "menu":
		if digits == "9":
			return _main_menu("en", 1, _say("en", *(("found",) if caller.known else ())))
		if digits == "1":
			if not caller.known:
				return _queue(lang, SUPPORT_QUEUE, _say(lang, "no_account"))
			return _support_menu(lang, 1, support_status(caller, lang, now))
		if digits == "2":
			if not caller.known:
				return _queue(lang, BILLING_QUEUE, _say(lang, "no_account"))
			return _billing_menu(lang, 1, billing_status(caller, lang))
		if digits == "3":
			return _queue(lang, SALES_QUEUE)
		if digits == "0":
			return _queue(lang, SUPPORT_QUEUE)
		return _retry_or_queue(
			step, lang, attempt, digits is not None, SUPPORT_QUEUE, lambda a, i: _main_menu(lang, a, i)
		)

	if step == "support":
		if digits == "1" and caller.known:
			return Decision((*_say(lang, "ticket"), Hangup()), action=OPEN_TICKET)
		if digits == "2":
			return _queue(lang, SUPPORT_QUEUE)
		return _retry_or_queue(
			step, lang, attempt, digits is not None, SUPPORT_QUEUE, lambda a, i: _support_menu(lang, a, i)
		)

	if step == "billing":
		if digits == "1" and caller.known:
			return Decision((*_say(lang, "pay_link"), Hangup()), action=SEND_PAY_LINK)
		if digits == "2":
			return _queue(lang, BILLING_QUEUE)
		return _retry_or_queue(
			step, lang, attempt, digits is not None, BILLING_QUEUE, lambda a, i: _billing_menu(lang, a, i)
		)

	# an unknown step (a forged or stale URL): start over
	return decide(
		"start", digits=None, attempt=1, lang=lang, caller=caller, now=now, hours=hours, holidays=holidays
	)


STEPS = ("start", "menu", "support", "billing", "after_dial", "voicemail")
