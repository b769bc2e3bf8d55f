"""Referral codes: making them, reading them back from customers, the rules, the credit.

Codes are 8 symbols from a 30-symbol alphabet (Crockford's idea: digits and capitals, nothing that
reads as something else): ``23456789ABCDEFGHJKMNPQRSTVWXYZ`` — no 0/O, no 1/I/L, and no U (read
as V; Crockford leaves it out too). 30⁸ ≈ 6.6 × 10¹¹ codes, so a guessed code almost never
exists. Stored without separators (``K7M2QR9X``), shown in two groups (``K7M2-QR9X``).

What customers type is normalised (:func:`normalise_code`): Unicode compatibility forms (full-width
letters from phone keyboards), accents dropped (``É`` → ``E``), upper case, spaces, dashes of every
kind, dots and underscores removed, and ``U`` read as ``V``. Characters that never appear in a
code (0, O, 1, I, L, punctuation) make the code malformed: they are not guessed into something else.

Rules (:func:`check_referral`), each refusal a :class:`ReferralRefused` with its ``reason``:
``malformed``, ``unknown_code``, ``disabled_code``, ``own_code`` (the customer's own code),
``same_address`` (the code's owner has a service address in common with the new customer: the same
household), ``already_referred`` (one referral per referred customer, whatever the code).

Credit (:func:`credit_due`): a one-time 50 $ credit per referred customer, due once the referred
customer has a subscription that is Actif (so its first subscription becoming Actif triggers it,
and a referral recorded after activation is credited at once). The referral record's status
(Pending → Credited, or Cancelled) makes it once only; :func:`credit_key` names the credit so two
workers handling the same activation cannot both issue it (use it as the job id / unique reference).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from gigafibre_fsm.core.errors import Conflict, InvalidInput

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
GROUP = 4  # shown as two groups of four
MAX_INPUT_LENGTH = 64
REFERRAL_CREDIT = Decimal("50.00")
REFERRAL_STATUSES = ("Pending", "Credited", "Cancelled")

_LOOK_ALIKES = str.maketrans({"U": "V"})
_SEPARATORS = re.compile(r"[\s\-_.·/\u2010-\u2015\u2212]+")
_ALLOWED = frozenset(ALPHABET)


class ReferralRefused(InvalidInput):
	"""A referral code was refused. ``reason`` says why (stable, for logs and tests)."""

	reason = "refused"


class MalformedCode(ReferralRefused):
	reason = "malformed"


class UnknownCode(ReferralRefused):
	reason = "unknown_code"


class DisabledCode(ReferralRefused):
	reason = "disabled_code"


class OwnCode(ReferralRefused):
	reason = "own_code"


class SameAddress(ReferralRefused):
	reason = "same_address"


class AlreadyReferred(ReferralRefused):
	reason = "already_referred"


# -- codes


def generate_code(
	exists: Callable[[str], bool],
	*,
	randbelow: Callable[[int], int] = secrets.randbelow,
	length: int = CODE_LENGTH,
	attempts: int = 10,
) -> str:
	"""A new code (normalised form) for which ``exists(code)`` is false.

	``randbelow(n)`` returns a random int in ``[0, n)`` (``secrets.randbelow`` by default; tests pass
	their own). ``exists`` is asked for each candidate; after ``attempts`` taken codes in a row
	Conflict is raised (with 8 symbols that means the random source is broken). Uniqueness is
	finally the database's: keep a unique index on the code and retry on a duplicate-key error.
	"""
	if length < 4:
		raise InvalidInput("A referral code needs at least 4 symbols")
	for _ in range(max(1, attempts)):
		code = "".join(ALPHABET[randbelow(len(ALPHABET))] for _ in range(length))
		if not exists(code):
			return code
	raise Conflict("Could not find a free referral code after {0} attempts", attempts)


def normalise_code(raw: str, *, length: int = CODE_LENGTH) -> str:
	"""The stored form of a code a customer typed (see the module docstring), or MalformedCode."""
	if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_INPUT_LENGTH:
		raise MalformedCode("Please enter a referral code")
	text = unicodedata.normalize("NFKD", raw)
	text = "".join(c for c in text if not unicodedata.combining(c))
	text = _SEPARATORS.sub("", text.upper()).translate(_LOOK_ALIKES)
	if len(text) != length or not set(text) <= _ALLOWED:
		raise MalformedCode("This is not a valid referral code")
	return text


def format_code(code: str) -> str:
	"""``K7M2QR9X`` → ``K7M2-QR9X`` (for print, SMS and screens)."""
	return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def address_key(address: str) -> str:
	"""An address (or a Service Location name) reduced for comparison: case, accents, punctuation.

	``"123, Rue Saint-Édouard  app. 2"`` and ``"123 rue saint edouard app 2"`` compare equal;
	different unit numbers stay different (two households in one building).
	"""
	text = unicodedata.normalize("NFKD", address or "")
	text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
	return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


# -- rules


@dataclass(frozen=True)
class ReferralCode:
	"""A code record as the rule needs it."""

	code: str  # normalised
	customer: str  # the referrer (owner of the code)
	enabled: bool = True


@dataclass(frozen=True)
class Party:
	"""A customer as the rule sees them: name and service addresses (location names or address text)."""

	customer: str
	addresses: frozenset[str] = field(default_factory=frozenset)

	def __post_init__(self):
		object.__setattr__(self, "addresses", frozenset(self.addresses))


@dataclass(frozen=True)
class Referral:
	"""An accepted referral: record it (status Pending) with the referred customer as unique key."""

	code: str
	referrer: str
	referred: str

	def as_dict(self) -> dict:
		return {"code": self.code, "referrer": self.referrer, "referred": self.referred}


def check_referral(
	code: str,
	referred: Party,
	found: ReferralCode | None,
	referrer: Party | None,
	*,
	referred_before: bool,
) -> Referral:
	"""Whether ``referred`` may use ``code``; the referral to record, or a ReferralRefused.

	The caller normalises the input (:func:`normalise_code`), looks the code up and passes what
	it found: ``found`` the code record (None when no such code), ``referrer`` its owner (with
	their service addresses), ``referred_before`` whether the referred customer already has a
	referral (any code, any status but Cancelled). Refusals, in order: malformed, unknown_code,
	disabled_code, own_code, same_address, already_referred. The messages never say whose code
	it is or where they live.
	"""
	normalised = normalise_code(code)
	if found is None or referrer is None or found.code != normalised or found.customer != referrer.customer:
		raise UnknownCode("This referral code does not exist")
	if not found.enabled:
		raise DisabledCode("This referral code is no longer active")
	if referrer.customer == referred.customer:
		raise OwnCode("You cannot use your own referral code")
	mine = {address_key(a) for a in referred.addresses} - {""}
	theirs = {address_key(a) for a in referrer.addresses} - {""}
	if mine & theirs:
		raise SameAddress("A referral code cannot be used by a customer at the same address")
	if referred_before:
		raise AlreadyReferred("This customer has already used a referral code")
	return Referral(code=normalised, referrer=referrer.customer, referred=referred.customer)


# -- credit


@dataclass(frozen=True)
class CreditDecision:
	due: bool
	amount: Decimal  # 0.00 when not due
	reason: str  # "due", "already_credited", "cancelled", "not_active"
	template: str  # English, for the Frappe layer to translate
	params: tuple = ()

	@property
	def message(self) -> str:
		return self.template.format(*self.params) if self.params else self.template

	def as_dict(self) -> dict:
		return {"due": self.due, "amount": str(self.amount), "reason": self.reason, "message": self.message}


def credit_due(
	status: str,
	subscription_statuses: Iterable[str],
	*,
	amount: Decimal = REFERRAL_CREDIT,
) -> CreditDecision:
	"""Whether the referral credit is due now, given the referral record's ``status`` and the
	statuses of the referred customer's subscriptions (Service Subscription: En attente, Actif, Annulé).

	Due only for a Pending referral whose referred customer has a subscription Actif; the caller
	then issues the credit under :func:`credit_key` and sets the referral to Credited in the same
	transaction. Call it when a subscription becomes Actif and when a referral is recorded.
	"""
	if status not in REFERRAL_STATUSES:
		raise InvalidInput("Unknown referral status {0}", status)
	zero = Decimal("0.00")
	if status == "Credited":
		return CreditDecision(False, zero, "already_credited", "The referral credit was already issued")
	if status == "Cancelled":
		return CreditDecision(False, zero, "cancelled", "The referral was cancelled")
	if "Actif" not in set(subscription_statuses):
		return CreditDecision(
			False, zero, "not_active", "The referral credit is due when the first subscription is active"
		)
	value = Decimal(str(amount)).quantize(Decimal("0.01"))
	if value <= 0:
		raise InvalidInput("The referral credit must be positive")
	return CreditDecision(True, value, "due", "Referral credit of {0} $", (value,))


def credit_key(referred_customer: str) -> str:
	"""The one name of the referral credit of a referred customer (job id, unique reference)."""
	if not referred_customer:
		raise InvalidInput("A referral credit needs the referred customer")
	return f"referral-credit:{referred_customer}"
