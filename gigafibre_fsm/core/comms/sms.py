"""SMS consent as Canada's anti-spam law (CASL) expects, and the message categories.

Keywords: a message that is only a keyword (any case, accents or not, spaces and punctuation
around it) changes the number's consent: STOP, ARRET/ARRÊT, UNSUBSCRIBE, … opt out; START,
UNSTOP, … opt back in; HELP/AIDE asks for help. A stop word followed by at most two courtesy
words ("Arrêt svp", "stop please") still opts out: CASL asks that unsubscribing be easy, and a
customer who writes "stop merci" means it. A start word must stand alone (re-subscribing must be
unambiguous).

Categories: ``service`` messages are what the customer asked for or needs to use the service
(one-time codes, the contract signature link, the pay link asked for on the phone) and are sent
even to an opted-out number; ``agent`` (flow steps: acknowledgements, follow-ups, reminders,
outage notices) and ``marketing`` are not. A message typed at the desk is not sent to an
opted-out number either: its words are the agent's, nothing tells it is a service message.
"""

from __future__ import annotations

import re
import unicodedata

STOP = "stop"
START = "start"
HELP = "help"

STOP_WORDS = frozenset(
	{
		"stop",
		"stopall",
		"unsubscribe",
		"cancel",
		"end",
		"quit",
		"optout",
		"arret",
		"arreter",
		"arretez",
		"desabonner",
		"desabonnement",
		"desinscrire",
		"desinscription",
	}
)
START_WORDS = frozenset({"start", "unstop", "resume", "subscribe", "reprendre", "abonner", "reabonner"})
HELP_WORDS = frozenset({"help", "info", "aide"})
COURTESY_WORDS_MAX = 2

SERVICE = "service"
AGENT = "agent"
MARKETING = "marketing"
CATEGORIES = (SERVICE, AGENT, MARKETING)

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _words(body: str) -> list[str]:
	text = unicodedata.normalize("NFKD", body or "")
	text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
	text = text.replace("opt out", "optout").replace("opt-out", "optout")
	return [w for w in _NOT_WORD.split(text) if w]


def keyword(body: str | None) -> str | None:
	"""``stop``, ``start``, ``help`` or None for a message body."""
	words = _words(body or "")
	if not words or len(words) > 1 + COURTESY_WORDS_MAX:
		return None
	first = words[0]
	if first in STOP_WORDS:
		return STOP
	if len(words) == 1 and first in START_WORDS:
		return START
	if len(words) == 1 and first in HELP_WORDS:
		return HELP
	return None


def may_send(category: str, opted_out: bool) -> bool:
	"""Whether a message of ``category`` may go to a number with this consent."""
	if category not in CATEGORIES:
		raise ValueError(f"Unknown SMS category {category!r}")
	return category == SERVICE or not opted_out


REPLIES = {
	STOP: (
		"Gigafibre : vous ne recevrez plus de textos de notre part, sauf les codes et avis "
		"essentiels à votre service. Répondez START pour vous réabonner. / You will no longer "
		"receive texts from us except codes and essential service notices. Reply START to resubscribe."
	),
	START: (
		"Gigafibre : vous recevez de nouveau nos textos. Répondez STOP pour vous désabonner. / "
		"You will receive our texts again. Reply STOP to unsubscribe."
	),
	HELP: (
		"Gigafibre : pour de l'aide, appelez-nous ou répondez à ce texto. STOP pour vous désabonner. / "
		"For help, call us or reply to this text. Reply STOP to unsubscribe."
	),
}


# Twilio's message statuses in the order they happen; a late callback never moves a message back.
STATUS_ORDER = {
	"accepted": 1,
	"scheduled": 1,
	"queued": 2,
	"sending": 3,
	"sent": 4,
	"delivered": 5,
	"undelivered": 5,
	"failed": 5,
	"read": 6,
	"canceled": 6,
}
# Communication.delivery_status for each (Frappe's options have no "Delivered": Sent stays, the
# exact status is kept beside it).
DELIVERY_STATUS = {
	"accepted": "Sending",
	"scheduled": "Scheduled",
	"queued": "Sending",
	"sending": "Sending",
	"sent": "Sent",
	"delivered": "Sent",
	"read": "Read",
	"undelivered": "Bounced",
	"failed": "Error",
	"canceled": "Rejected",
}


def advances(old: str | None, new: str) -> bool:
	"""Whether status ``new`` may replace ``old`` (unknown statuses never do)."""
	if new not in STATUS_ORDER:
		return False
	return STATUS_ORDER[new] >= STATUS_ORDER.get(old or "", 0)
