"""One-time codes sent by SMS (the QR page ``/q/<mac>``): generation, hashing and the
attempt state machine.

Pure: no frappe, no network, no clock (``now`` is passed in as an aware datetime or
epoch seconds). The caller keeps the state (a plain dict) in Redis under the subject
(the normalised MAC) with :func:`ttl_seconds` as its expiry.

Rules:

- a code is 6 decimal digits drawn with :mod:`secrets`;
- only its HMAC is stored: ``HMAC-SHA256(key, subject NUL code)`` with a key derived
  from the site secret for this purpose only, so a stored hash is bound to one
  subject and is useless without the secret; compared in constant time;
- a code expires :data:`CODE_TTL` after it was issued;
- one code is active per subject: a new request replaces it (the attempts start
  again), unless the subject is locked;
- :data:`MAX_ATTEMPTS` wrong codes lock the subject until the code's expiry: while
  locked every code is refused, the right one too, and no new code is issued;
- a right code is consumed (its state is deleted): a code works once.

State (``dict``)::

    {"v": 1, "hash": hex, "issued_at": epoch s, "expires_at": epoch s,
     "attempts": wrong tries so far, "locked": bool}
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from gigafibre_fsm.core.errors import InvalidInput

CODE_DIGITS = 6
CODE_TTL = 10 * 60  # seconds
MAX_ATTEMPTS = 5
KEY_CONTEXT = b"gigafibre_fsm.otp.v1"
STATE_VERSION = 1

# outcomes of attempt()
OK = "ok"
WRONG = "wrong"
LOCKED = "locked"
EXPIRED = "expired"
MISSING = "missing"

_CODE = re.compile(r"^\d{%d}$" % CODE_DIGITS)
# a stand-in compared when there is no state, so a miss costs the same HMAC work
_NO_HASH = "0" * 64


def generate_code() -> str:
	"""A uniformly random code of :data:`CODE_DIGITS` digits (leading zeros kept)."""
	return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(secret: str | bytes, subject: str, code: str) -> str:
	"""The hex HMAC of ``code`` for ``subject`` under a key derived from ``secret``."""
	raw = secret.encode("utf-8") if isinstance(secret, str) else secret
	if not raw:
		raise InvalidInput("A code signing secret is required")
	key = hmac.new(raw, KEY_CONTEXT, hashlib.sha256).digest()
	message = f"{subject}\x00{code}".encode()
	return hmac.new(key, message, hashlib.sha256).hexdigest()


def code_matches(secret: str | bytes, subject: str, code: str, expected_hash: str | None) -> bool:
	"""Whether ``code`` hashes to ``expected_hash`` (constant time; False for a malformed code)."""
	given = hash_code(secret, subject, str(code or "").strip())
	ok = hmac.compare_digest(given.encode("ascii"), (expected_hash or _NO_HASH).encode("ascii"))
	return ok and bool(expected_hash) and is_well_formed(code)


def is_well_formed(code: str | None) -> bool:
	return isinstance(code, str) and bool(_CODE.match(code.strip()))


def epoch(now: datetime | float) -> int:
	if isinstance(now, datetime):
		if now.tzinfo is None or now.utcoffset() is None:
			raise InvalidInput("Code times must carry a time zone")
		return int(now.timestamp())
	if isinstance(now, bool) or not isinstance(now, int | float):
		raise InvalidInput("Code times must be a datetime or epoch seconds")
	return int(now)


def is_live(state: dict | None, now: datetime | float) -> bool:
	"""A state that exists, is well formed and has not expired at ``now``."""
	return _valid(state) and epoch(now) < state["expires_at"]


def is_locked(state: dict | None, now: datetime | float) -> bool:
	return is_live(state, now) and bool(state["locked"])


def ttl_seconds(state: dict | None, now: datetime | float) -> int:
	"""How long the caller should keep ``state`` (0: delete it)."""
	if not is_live(state, now):
		return 0
	return max(0, state["expires_at"] - epoch(now))


def new_challenge(
	secret: str | bytes,
	subject: str,
	code: str,
	*,
	now: datetime | float,
	previous: dict | None = None,
	ttl: int = CODE_TTL,
) -> tuple[dict, bool]:
	"""The state for a new ``code`` and whether it was issued.

	A live locked ``previous`` is kept as it is (``issued`` False: send nothing);
	anything else is replaced by a fresh challenge with no attempts.
	"""
	if not is_well_formed(code):
		raise InvalidInput("A code must be {0} digits", CODE_DIGITS)
	if int(ttl) < 1:
		raise InvalidInput("A code must live at least one second")
	if is_locked(previous, now):
		return dict(previous), False
	issued = epoch(now)
	state = {
		"v": STATE_VERSION,
		"hash": hash_code(secret, subject, code.strip()),
		"issued_at": issued,
		"expires_at": issued + int(ttl),
		"attempts": 0,
		"locked": False,
	}
	return state, True


def attempt(
	state: dict | None,
	secret: str | bytes,
	subject: str,
	code: str,
	*,
	now: datetime | float,
	max_attempts: int = MAX_ATTEMPTS,
) -> tuple[str, dict | None]:
	"""Check ``code`` against ``state``: the outcome and the state to keep (None: delete).

	Outcomes: :data:`OK` (consumed), :data:`WRONG` (one more attempt counted; the
	attempt that reaches ``max_attempts`` locks), :data:`LOCKED` (refused whatever the
	code), :data:`EXPIRED`, :data:`MISSING` (no or unreadable state). The HMAC is
	computed in every case so that the outcomes take comparable time.
	"""
	live = is_live(state, now)
	expected = state.get("hash") if live else None
	matches = code_matches(secret, subject, code, expected)
	if not _valid(state):
		return MISSING, None
	if not live:
		return EXPIRED, None
	if state["locked"]:
		return LOCKED, dict(state)
	if matches:
		return OK, None
	attempts = state["attempts"] + 1
	return WRONG, {**state, "attempts": attempts, "locked": attempts >= max_attempts}


def _valid(state) -> bool:
	return (
		isinstance(state, dict)
		and state.get("v") == STATE_VERSION
		and isinstance(state.get("hash"), str)
		and all(type(state.get(k)) is int for k in ("issued_at", "expires_at", "attempts"))
		and isinstance(state.get("locked"), bool)
	)


def phone_key(value: str | None) -> str:
	"""The digits that identify a North American phone number: its last 10 digits
	("+1 (514) 555-0199", "514.555.0199" and "15145550199" all give "5145550199");
	"" when it has fewer than 10 digits."""
	digits = re.sub(r"\D", "", str(value or ""))
	return digits[-10:] if len(digits) >= 10 else ""


def phones_match(given: str | None, on_file: str | None) -> bool:
	"""Whether two spellings name the same number (constant time on the digits)."""
	a, b = phone_key(given), phone_key(on_file)
	same = hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))
	return same and bool(a)
