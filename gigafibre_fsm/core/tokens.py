"""Signed link tokens: scoped, expiring, revocable, safe in a URL (``/t/<token>``).

A token is two base64url parts (no padding) joined by a dot::

    <payload>.<signature>

``payload`` is the canonical JSON of the claims (sorted keys, no spaces, UTF-8)::

    {"e": expires (epoch s), "i": issued (epoch s), "s": scope, "u": subject,
     "v": version, "x": {extra, omitted when empty}}

``signature`` is HMAC-SHA256 over ``"gft1." + <payload>`` (the encoded text, so
any change of any character is a change of the signed input), truncated to its
first 16 bytes (128 bits, 22 characters: a token fits in an SMS). The HMAC key is
derived from the site secret for this purpose only (``HMAC(secret,
"gigafibre_fsm.tokens.v1")``), so the same secret can sign webhook bodies
without a webhook signature ever being accepted as a token or the reverse.
It is JWT-like (claims, HS256) without the JWT header: the algorithm is fixed,
so there is no ``alg`` to negotiate and nothing to downgrade.

Checks, in order, each refused with its own :class:`TokenRejected` ``reason``:
``malformed`` (not two base64url parts, bad JSON or claims), ``bad_signature``
(compared in constant time, before the payload is trusted), ``wrong_scope``
(a technician token is refused on the contract page and the reverse),
``expired`` (valid while ``now < exp``), ``revoked`` (the token's ``version`` is
not the subject's current counter: the Frappe layer keeps the counter, e.g. on
the Technician, and bumps it to revoke every link issued before).

The messages name the failure without echoing the token, the subject or the
expected values; the public page shows one generic message anyway and logs
``reason``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gigafibre_fsm.core.errors import Forbidden, InvalidInput

SIGNING_PREFIX = b"gft1."
KEY_CONTEXT = b"gigafibre_fsm.tokens.v1"
SIGNATURE_BYTES = 16
MAX_TOKEN_LENGTH = 2048  # refuse absurd input before decoding anything
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


class TokenRejected(Forbidden):
	"""A link token was refused. ``reason`` says why, for logs (never shown as is)."""

	reason = "invalid"


class TokenMalformed(TokenRejected):
	reason = "malformed"


class TokenBadSignature(TokenRejected):
	reason = "bad_signature"


class TokenWrongScope(TokenRejected):
	reason = "wrong_scope"


class TokenExpired(TokenRejected):
	reason = "expired"


class TokenRevoked(TokenRejected):
	reason = "revoked"


@dataclass(frozen=True)
class Claims:
	"""What a verified token says."""

	subject: str
	scope: str
	issued_at: datetime
	expires_at: datetime
	version: int = 0
	extra: dict = field(default_factory=dict)

	def as_dict(self) -> dict:
		return {
			"subject": self.subject,
			"scope": self.scope,
			"issued_at": self.issued_at.isoformat(),
			"expires_at": self.expires_at.isoformat(),
			"version": self.version,
			"extra": dict(self.extra),
		}


def issue(
	secret: str | bytes,
	*,
	subject: str,
	scope: str,
	now: datetime | float,
	ttl: timedelta | float,
	version: int = 0,
	extra: dict | None = None,
) -> str:
	"""A signed token for ``subject`` in ``scope``, valid for ``ttl`` from ``now``.

	``now`` is an aware datetime or epoch seconds; ``ttl`` a timedelta or seconds.
	``extra`` must be a JSON object (kept small: it travels in the URL).
	"""
	key = _key(secret)
	if not isinstance(subject, str) or not subject:
		raise InvalidInput("A token needs a subject")
	if not isinstance(scope, str) or not scope:
		raise InvalidInput("A token needs a scope")
	if not isinstance(version, int) or isinstance(version, bool) or version < 0:
		raise InvalidInput("The token version must be a whole number of 0 or more")
	seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
	if isinstance(seconds, bool) or not isinstance(seconds, int | float) or int(seconds) < 1:
		raise InvalidInput("The token lifetime must be at least one second")
	issued = _epoch(now)
	claims: dict = {"e": issued + int(seconds), "i": issued, "s": scope, "u": subject, "v": version}
	if extra:
		if not isinstance(extra, dict):
			raise InvalidInput("Extra token claims must be a mapping")
		claims["x"] = extra
	try:
		raw = json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
	except (TypeError, ValueError) as e:
		raise InvalidInput("Extra token claims must be plain JSON values") from e
	payload = _b64encode(raw.encode("utf-8"))
	return f"{payload}.{_sign(key, payload)}"


def verify(
	secret: str | bytes,
	token: str,
	*,
	scope: str,
	now: datetime | float,
	current_version: int | None = None,
) -> Claims:
	"""The claims of ``token`` if it is genuine, for ``scope``, unexpired and current.

	``current_version`` is the subject's revocation counter; ``None`` skips that
	check (only for scopes that have no counter, e.g. a printed QR code).
	Raises a :class:`TokenRejected` subclass (a Forbidden) otherwise.
	"""
	key = _key(secret)
	if not scope:
		raise InvalidInput("A token needs a scope")
	payload, signature = _split(token)
	if not hmac.compare_digest(_sign(key, payload), signature):
		raise TokenBadSignature("This link's signature is not valid")
	claims = _decode_claims(payload)
	if not hmac.compare_digest(claims["s"].encode("utf-8"), scope.encode("utf-8")):
		raise TokenWrongScope("This link is not valid for this page")
	if _epoch(now) >= claims["e"]:
		raise TokenExpired("This link has expired")
	if current_version is not None and claims["v"] != current_version:
		raise TokenRevoked("This link has been replaced or revoked")
	return Claims(
		subject=claims["u"],
		scope=claims["s"],
		issued_at=datetime.fromtimestamp(claims["i"], UTC),
		expires_at=datetime.fromtimestamp(claims["e"], UTC),
		version=claims["v"],
		extra=claims.get("x") or {},
	)


# -- internals


def _key(secret: str | bytes) -> bytes:
	raw = secret.encode("utf-8") if isinstance(secret, str) else secret
	if not raw:
		raise InvalidInput("A token signing secret is required")
	return hmac.new(raw, KEY_CONTEXT, hashlib.sha256).digest()


def _sign(key: bytes, payload: str) -> str:
	mac = hmac.new(key, SIGNING_PREFIX + payload.encode("ascii"), hashlib.sha256).digest()
	return _b64encode(mac[:SIGNATURE_BYTES])


def _b64encode(data: bytes) -> str:
	return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
	return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _epoch(now: datetime | float) -> int:
	if isinstance(now, datetime):
		if now.tzinfo is None or now.utcoffset() is None:
			raise InvalidInput("Token times must carry a time zone")
		return int(now.timestamp())
	if isinstance(now, bool) or not isinstance(now, int | float):
		raise InvalidInput("Token times must be a datetime or epoch seconds")
	return int(now)


def _split(token: str) -> tuple[str, str]:
	if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
		raise TokenMalformed("This link is malformed")
	payload, dot, signature = token.partition(".")
	if not dot or not _B64URL.match(payload) or not _B64URL.match(signature):
		raise TokenMalformed("This link is malformed")
	return payload, signature


def _decode_claims(payload: str) -> dict:
	try:
		claims = json.loads(_b64decode(payload).decode("utf-8"))
	except (binascii.Error, UnicodeDecodeError, ValueError) as e:
		raise TokenMalformed("This link is malformed") from e
	ok = (
		isinstance(claims, dict)
		and isinstance(claims.get("u"), str)
		and isinstance(claims.get("s"), str)
		and all(type(claims.get(k)) is int for k in ("e", "i", "v"))
		and isinstance(claims.get("x", {}), dict)
	)
	if not ok:
		raise TokenMalformed("This link is malformed")
	return claims
