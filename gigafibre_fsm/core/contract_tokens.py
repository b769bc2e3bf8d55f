"""Contract signing links (residential acceptance): a JWT (RFC 7519) signed with HS256, via PyJWT.

The customer gets ``/contract/<token>`` by SMS or email; opening it shows the contract, accepting it
signs it. The token::

    header  {"alg": "HS256", "typ": "JWT"}
    claims  {"sub": "CTR-00042",    the Service Contract
             "scope": "contract",  never valid elsewhere (technician links are another format)
             "jti": "<22 chars>",  128 random bits, recorded by the caller: single use, revocable
             "iat": 1767268800,    issued (epoch seconds, from the ``now`` passed in)
             "exp": 1767873600}    iat + 7 days

The signing key is derived from the site secret for this purpose only (``HMAC-SHA256(secret,
"gigafibre_fsm.contract_tokens.v1")``, 32 bytes), so no other token or webhook signature made
with the same secret is ever a valid contract token.

Single use and revocation (the caller's part): when the link is issued, record its ``jti`` on the
Service Contract (a newer link replaces it: the older one is revoked). :func:`verify` asks the
caller's ``jti_state(contract, jti)`` for ``"active"``, ``"used"`` or ``"revoked"`` (anything
else counts as revoked: fail closed). Accepting the contract must then consume the jti atomically
(an UPDATE ... WHERE jti = %s AND jti_used = 0 that must touch one row), because two requests can
both pass :func:`verify` before either is recorded.

Checks, in order, each refused with a :class:`~gigafibre_fsm.core.tokens.TokenRejected` subclass
(the app's existing handling of link tokens applies) and its ``reason``: ``malformed`` (not three
base64url parts, header or claims unreadable, a claim missing or of the wrong type),
``bad_algorithm`` (read from the header *before* any cryptography: anything but exactly HS256 —
``none``, ``HS512``, ``RS256`` — is refused, and PyJWT is also told ``algorithms=["HS256"]``),
``bad_signature``, ``wrong_scope``, ``expired`` (valid while ``now < exp``; PyJWT's own clock
checks are off, ``now`` is passed in), ``already_used``, ``revoked``. Messages never echo the
token or the contract.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.core.tokens import (
	TokenBadSignature,
	TokenExpired,
	TokenMalformed,
	TokenRejected,
	TokenRevoked,
	TokenWrongScope,
)

__all__ = [
	"ALGORITHM",
	"JTI_ACTIVE",
	"JTI_REVOKED",
	"JTI_USED",
	"SCOPE",
	"TTL",
	"ContractClaims",
	"IssuedToken",
	"TokenAlreadyUsed",
	"TokenBadAlgorithm",
	"TokenBadSignature",
	"TokenExpired",
	"TokenMalformed",
	"TokenRejected",
	"TokenRevoked",
	"TokenWrongScope",
	"issue",
	"signing_key",
	"verify",
]

ALGORITHM = "HS256"
SCOPE = "contract"
TTL = timedelta(days=7)
KEY_CONTEXT = b"gigafibre_fsm.contract_tokens.v1"
JTI_ACTIVE, JTI_USED, JTI_REVOKED = "active", "used", "revoked"
MAX_TOKEN_LENGTH = 4096
MAX_JTI_LENGTH = 128
_JWS = re.compile(r"^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$")
_REQUIRED = ("sub", "scope", "jti", "iat", "exp")


class TokenBadAlgorithm(TokenRejected):
	reason = "bad_algorithm"


class TokenAlreadyUsed(TokenRejected):
	reason = "already_used"


@dataclass(frozen=True)
class IssuedToken:
	"""A new link: send ``token``, record ``jti`` (and ``expires_at``) on the contract."""

	token: str
	contract: str
	jti: str
	issued_at: datetime
	expires_at: datetime


@dataclass(frozen=True)
class ContractClaims:
	"""What a verified contract token says."""

	contract: str
	jti: str
	issued_at: datetime
	expires_at: datetime

	def as_dict(self) -> dict:
		return {
			"contract": self.contract,
			"jti": self.jti,
			"issued_at": self.issued_at.isoformat(),
			"expires_at": self.expires_at.isoformat(),
		}


def signing_key(secret: str | bytes) -> bytes:
	"""The HS256 key for contract tokens, derived from the site secret."""
	raw = secret.encode("utf-8") if isinstance(secret, str) else secret
	if not raw:
		raise InvalidInput("A token signing secret is required")
	return hmac.new(raw, KEY_CONTEXT, hashlib.sha256).digest()


def issue(
	secret: str | bytes,
	contract: str,
	*,
	now: datetime | float,
	ttl: timedelta = TTL,
	token_bytes: Callable[[int], str] = secrets.token_urlsafe,
) -> IssuedToken:
	"""A signing link token for ``contract``, valid for ``ttl`` (7 days) from ``now``.

	``token_bytes(n)`` makes the jti from n random bytes (``secrets.token_urlsafe``; tests may pass
	their own).
	"""
	key = signing_key(secret)
	if not isinstance(contract, str) or not contract:
		raise InvalidInput("A contract token needs the contract's name")
	seconds = int(ttl.total_seconds())
	if seconds < 1:
		raise InvalidInput("The token lifetime must be at least one second")
	issued = _epoch(now)
	jti = token_bytes(16)
	if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
		raise InvalidInput("The token id must be a short non-empty string")
	claims = {"sub": contract, "scope": SCOPE, "jti": jti, "iat": issued, "exp": issued + seconds}
	token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": "JWT"})
	return IssuedToken(
		token=token,
		contract=contract,
		jti=jti,
		issued_at=datetime.fromtimestamp(issued, UTC),
		expires_at=datetime.fromtimestamp(issued + seconds, UTC),
	)


def verify(
	secret: str | bytes,
	token: str,
	*,
	now: datetime | float,
	jti_state: Callable[[str, str], str],
) -> ContractClaims:
	"""The claims of ``token`` if it is a genuine, unexpired, unused contract token.

	``jti_state(contract, jti)`` returns ``"active"`` (issued for this contract and not used),
	``"used"`` or ``"revoked"`` (replaced, withdrawn or never issued). It is asked last, only for
	a token that passed every other check. Raises a TokenRejected subclass otherwise.
	"""
	key = signing_key(secret)
	header = _read_header(token)
	if header.get("alg") != ALGORITHM:
		raise TokenBadAlgorithm("This link's signature algorithm is not accepted")
	if "crit" in header or header.get("typ", "JWT") != "JWT":
		raise TokenMalformed("This link is malformed")
	try:
		claims = jwt.decode(
			token,
			key,
			algorithms=[ALGORITHM],
			options={
				# times are checked below against the `now` passed in, never PyJWT's clock
				"verify_exp": False,
				"verify_iat": False,
				"verify_nbf": False,
				"verify_aud": False,
				"verify_iss": False,
				"require": list(_REQUIRED),
			},
		)
	except jwt.InvalidSignatureError as e:
		raise TokenBadSignature("This link's signature is not valid") from e
	except jwt.InvalidAlgorithmError as e:
		raise TokenBadAlgorithm("This link's signature algorithm is not accepted") from e
	except jwt.InvalidTokenError as e:  # DecodeError, MissingRequiredClaimError, ...
		raise TokenMalformed("This link is malformed") from e
	_check_shape(claims)
	if not hmac.compare_digest(claims["scope"].encode("utf-8"), SCOPE.encode("utf-8")):
		raise TokenWrongScope("This link is not valid for this page")
	if _epoch(now) >= claims["exp"]:
		raise TokenExpired("This link has expired")
	state = jti_state(claims["sub"], claims["jti"])
	if state == JTI_USED:
		raise TokenAlreadyUsed("This link has already been used")
	if state != JTI_ACTIVE:
		raise TokenRevoked("This link has been replaced or revoked")
	return ContractClaims(
		contract=claims["sub"],
		jti=claims["jti"],
		issued_at=datetime.fromtimestamp(claims["iat"], UTC),
		expires_at=datetime.fromtimestamp(claims["exp"], UTC),
	)


# -- internals


def _read_header(token) -> dict:
	if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
		raise TokenMalformed("This link is malformed")
	match = _JWS.match(token)
	if not match:
		raise TokenMalformed("This link is malformed")
	try:
		header = json.loads(_b64decode(match.group(1)).decode("utf-8"))
	except (binascii.Error, UnicodeDecodeError, ValueError) as e:
		raise TokenMalformed("This link is malformed") from e
	if not isinstance(header, dict):
		raise TokenMalformed("This link is malformed")
	return header


def _check_shape(claims: dict) -> None:
	ok = (
		isinstance(claims.get("sub"), str)
		and claims["sub"] != ""
		and isinstance(claims.get("scope"), str)
		and isinstance(claims.get("jti"), str)
		and 0 < len(claims["jti"]) <= MAX_JTI_LENGTH
		and type(claims.get("iat")) is int
		and type(claims.get("exp")) is int
		and claims["exp"] > claims["iat"]
	)
	if not ok:
		raise TokenMalformed("This link is malformed")


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
