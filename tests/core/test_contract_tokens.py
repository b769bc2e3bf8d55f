"""Contract signing link tokens (JWT HS256): issue, verify, and forged tokens built by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from gigafibre_fsm.core import contract_tokens as ct
from gigafibre_fsm.core.contract_tokens import (
	JTI_ACTIVE,
	JTI_REVOKED,
	JTI_USED,
	TTL,
	ContractClaims,
	TokenAlreadyUsed,
	TokenBadAlgorithm,
	TokenBadSignature,
	TokenExpired,
	TokenMalformed,
	TokenRevoked,
	TokenWrongScope,
	issue,
	signing_key,
	verify,
)
from gigafibre_fsm.core.errors import Forbidden, InvalidInput
from gigafibre_fsm.core.tokens import TokenRejected
from gigafibre_fsm.core.tokens import issue as issue_link_token

SECRET = "site-secret-for-tests"
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def b64(data: bytes) -> str:
	return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj) -> str:
	return b64(json.dumps(obj, separators=(",", ":")).encode())


def hand_made(header: dict, claims: dict, key: bytes | None = None, alg=hashlib.sha256) -> str:
	"""A JWS compact token built without PyJWT (HMAC signature, or none when key is None)."""
	signing_input = f"{b64json(header)}.{b64json(claims)}"
	if key is None:
		return signing_input + "."
	return signing_input + "." + b64(hmac.new(key, signing_input.encode(), alg).digest())


def good_claims(**changes) -> dict:
	issued = int(NOW.timestamp())
	claims = {"sub": "CTR-00042", "scope": "contract", "jti": "jti-1", "iat": issued, "exp": issued + 3600}
	claims.update(changes)
	return claims


class Ledger:
	"""The caller's record of issued jtis (what the Service Contract keeps)."""

	def __init__(self):
		self.active: dict[str, str] = {}  # contract → current jti
		self.used: set[str] = set()

	def record(self, issued) -> None:
		self.active[issued.contract] = issued.jti

	def state(self, contract: str, jti: str) -> str:
		if jti in self.used:
			return JTI_USED
		return JTI_ACTIVE if self.active.get(contract) == jti else JTI_REVOKED

	def consume(self, contract: str, jti: str) -> None:
		self.used.add(jti)


@pytest.fixture
def ledger():
	return Ledger()


def active(contract, jti):
	return JTI_ACTIVE


def test_issue_and_verify(ledger):
	issued = issue(SECRET, "CTR-00042", now=NOW)
	ledger.record(issued)
	assert issued.expires_at - issued.issued_at == TTL == timedelta(days=7)
	assert len(issued.jti) >= 22  # 128 random bits
	claims = verify(SECRET, issued.token, now=NOW + timedelta(days=6, hours=23), jti_state=ledger.state)
	assert claims == ContractClaims("CTR-00042", issued.jti, issued.issued_at, issued.expires_at)
	assert claims.as_dict()["contract"] == "CTR-00042"


def test_the_token_is_a_standard_hs256_jwt():
	issued = issue(SECRET, "CTR-00042", now=NOW)
	assert jwt.get_unverified_header(issued.token) == {"alg": "HS256", "typ": "JWT"}
	payload = jwt.decode(
		issued.token, signing_key(SECRET), algorithms=["HS256"], options={"verify_exp": False}
	)
	assert payload == {
		"sub": "CTR-00042",
		"scope": "contract",
		"jti": issued.jti,
		"iat": int(NOW.timestamp()),
		"exp": int(NOW.timestamp()) + 7 * 86400,
	}


def test_each_link_has_its_own_jti():
	jtis = {issue(SECRET, "CTR-00042", now=NOW).jti for _ in range(50)}
	assert len(jtis) == 50


def test_epoch_seconds_work_as_now():
	issued = issue(SECRET, "CTR-1", now=NOW.timestamp(), token_bytes=lambda n: "fixed")
	assert issued.jti == "fixed"
	assert verify(SECRET, issued.token, now=int(NOW.timestamp()), jti_state=active).jti == "fixed"


def test_expired(ledger):
	issued = issue(SECRET, "CTR-00042", now=NOW)
	ledger.record(issued)
	with pytest.raises(TokenExpired) as err:
		verify(SECRET, issued.token, now=NOW + TTL, jti_state=ledger.state)
	assert err.value.reason == "expired"
	# PyJWT's own clock is not consulted: a token far in the past verifies against a past `now`
	old = issue(SECRET, "CTR-1", now=datetime(2001, 1, 1, tzinfo=UTC))
	verify(SECRET, old.token, now=datetime(2001, 1, 2, tzinfo=UTC), jti_state=active)


def test_replayed_token_is_refused(ledger):
	issued = issue(SECRET, "CTR-00042", now=NOW)
	ledger.record(issued)
	claims = verify(SECRET, issued.token, now=NOW, jti_state=ledger.state)
	ledger.consume(claims.contract, claims.jti)  # the contract was accepted
	with pytest.raises(TokenAlreadyUsed) as err:
		verify(SECRET, issued.token, now=NOW + timedelta(minutes=1), jti_state=ledger.state)
	assert err.value.reason == "already_used"


def test_a_new_link_revokes_the_old_one(ledger):
	first = issue(SECRET, "CTR-00042", now=NOW)
	ledger.record(first)
	second = issue(SECRET, "CTR-00042", now=NOW + timedelta(hours=1))
	ledger.record(second)
	with pytest.raises(TokenRevoked) as err:
		verify(SECRET, first.token, now=NOW + timedelta(hours=2), jti_state=ledger.state)
	assert err.value.reason == "revoked"
	verify(SECRET, second.token, now=NOW + timedelta(hours=2), jti_state=ledger.state)


def test_an_unexpected_jti_state_fails_closed():
	issued = issue(SECRET, "CTR-00042", now=NOW)
	for state in (None, "", "ACTIVE", True):
		with pytest.raises(TokenRevoked):
			verify(SECRET, issued.token, now=NOW, jti_state=lambda c, j, s=state: s)


def test_the_jti_is_checked_only_after_the_signature():
	asked = []
	forged = hand_made({"alg": "HS256", "typ": "JWT"}, good_claims(), key=b"not the key")
	with pytest.raises(TokenBadSignature):
		verify(SECRET, forged, now=NOW, jti_state=lambda c, j: asked.append(j) or JTI_ACTIVE)
	assert asked == []


# -- forged tokens


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(alg):
	forged = hand_made({"alg": alg, "typ": "JWT"}, good_claims())
	with pytest.raises(TokenBadAlgorithm) as err:
		verify(SECRET, forged, now=NOW, jti_state=active)
	assert err.value.reason == "bad_algorithm"


def test_alg_none_with_a_signature_copied_from_a_real_token_is_refused():
	real = issue(SECRET, "CTR-00042", now=NOW).token
	forged = hand_made({"alg": "none"}, good_claims(sub="CTR-99999")) + real.rsplit(".", 1)[1]
	with pytest.raises(TokenBadAlgorithm):
		verify(SECRET, forged, now=NOW, jti_state=active)


def test_other_hmac_algorithms_are_refused_even_with_the_right_key():
	key = signing_key(SECRET)
	for alg, digest in (("HS512", hashlib.sha512), ("HS384", hashlib.sha384)):
		forged = hand_made({"alg": alg, "typ": "JWT"}, good_claims(), key=key, alg=digest)
		with pytest.raises(TokenBadAlgorithm):
			verify(SECRET, forged, now=NOW, jti_state=active)
	with warnings.catch_warnings():
		warnings.simplefilter("ignore")  # PyJWT may warn about the key length for HS512
		by_pyjwt = jwt.encode(good_claims(), key, algorithm="HS512")
	with pytest.raises(TokenBadAlgorithm):
		verify(SECRET, by_pyjwt, now=NOW, jti_state=active)


def test_rs256_header_with_an_hmac_signature_is_refused():
	# the classic key-confusion forgery: claim RS256, sign with HMAC using something public
	forged = hand_made({"alg": "RS256", "typ": "JWT"}, good_claims(), key=b"-----BEGIN PUBLIC KEY-----")
	with pytest.raises(TokenBadAlgorithm):
		verify(SECRET, forged, now=NOW, jti_state=active)


def test_missing_alg_is_refused():
	forged = hand_made({"typ": "JWT"}, good_claims(), key=signing_key(SECRET))
	with pytest.raises(TokenBadAlgorithm):
		verify(SECRET, forged, now=NOW, jti_state=active)


def test_bad_signature():
	issued = issue(SECRET, "CTR-00042", now=NOW)
	with pytest.raises(TokenBadSignature) as err:
		verify("another-secret", issued.token, now=NOW, jti_state=active)
	assert err.value.reason == "bad_signature"
	# change one claim, keep the signature
	header, _, signature = issued.token.split(".")
	tampered = f"{header}.{b64json(good_claims(sub='CTR-99999'))}.{signature}"
	with pytest.raises(TokenBadSignature):
		verify(SECRET, tampered, now=NOW, jti_state=active)
	# signed with the raw site secret instead of the derived key
	raw = hand_made({"alg": "HS256", "typ": "JWT"}, good_claims(), key=SECRET.encode())
	with pytest.raises(TokenBadSignature):
		verify(SECRET, raw, now=NOW, jti_state=active)


def test_wrong_scope():
	forged = hand_made(
		{"alg": "HS256", "typ": "JWT"}, good_claims(scope="technician"), key=signing_key(SECRET)
	)
	with pytest.raises(TokenWrongScope) as err:
		verify(SECRET, forged, now=NOW, jti_state=active)
	assert err.value.reason == "wrong_scope"


def test_a_technician_link_token_is_not_a_contract_token():
	tech = issue_link_token(SECRET, subject="CTR-00042", scope="contract", now=NOW, ttl=3600)
	with pytest.raises(TokenMalformed):
		verify(SECRET, tech, now=NOW, jti_state=active)


@pytest.mark.parametrize(
	"token",
	[
		"",
		"abc",
		"a.b",
		"a.b.c.d",
		"a b.c.d",
		"!!!.###.$$$",
		b64(b"not json") + "." + b64json(good_claims()) + ".sig",
		b64json(["alg", "HS256"]) + "." + b64json(good_claims()) + ".sig",
		"x" * 5000,
		None,
		42,
	],
)
def test_malformed(token):
	with pytest.raises(TokenMalformed) as err:
		verify(SECRET, token, now=NOW, jti_state=active)
	assert err.value.reason == "malformed"


@pytest.mark.parametrize(
	"claims",
	[
		{k: v for k, v in good_claims().items() if k != "jti"},
		{k: v for k, v in good_claims().items() if k != "exp"},
		{k: v for k, v in good_claims().items() if k != "scope"},
		good_claims(sub=""),
		good_claims(jti=""),
		good_claims(jti="x" * 500),
		good_claims(exp="tomorrow"),
		good_claims(iat=1.5),
		good_claims(exp=True),
		good_claims(exp=int(NOW.timestamp()) - 10),  # expires before it was issued
	],
)
def test_claims_of_the_wrong_shape_are_malformed(claims):
	forged = hand_made({"alg": "HS256", "typ": "JWT"}, claims, key=signing_key(SECRET))
	with pytest.raises(TokenMalformed):
		verify(SECRET, forged, now=NOW, jti_state=active)


def test_payload_that_is_not_an_object_is_malformed():
	key = signing_key(SECRET)
	signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT'})}.{b64(b'[1,2]')}"
	token = signing_input + "." + b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())
	with pytest.raises(TokenMalformed):
		verify(SECRET, token, now=NOW, jti_state=active)


def test_critical_header_extensions_are_refused():
	forged = hand_made({"alg": "HS256", "crit": ["exp"], "exp": 1}, good_claims(), key=signing_key(SECRET))
	with pytest.raises(TokenMalformed):
		verify(SECRET, forged, now=NOW, jti_state=active)


def test_rejections_are_the_apps_token_rejections():
	for cls in (TokenAlreadyUsed, TokenBadAlgorithm, TokenBadSignature, TokenExpired, TokenMalformed):
		assert issubclass(cls, TokenRejected) and issubclass(cls, Forbidden)
	assert ct.TokenRevoked is TokenRevoked


def test_messages_do_not_echo_the_contract():
	issued = issue(SECRET, "CTR-00042", now=NOW)
	with pytest.raises(TokenExpired) as err:
		verify(SECRET, issued.token, now=NOW + TTL * 2, jti_state=active)
	assert "CTR" not in str(err.value) and issued.token not in str(err.value)


def test_bad_arguments():
	with pytest.raises(InvalidInput):
		issue("", "CTR-1", now=NOW)
	with pytest.raises(InvalidInput):
		issue(SECRET, "", now=NOW)
	with pytest.raises(InvalidInput):
		issue(SECRET, "CTR-1", now=datetime(2026, 1, 1))  # naive
	with pytest.raises(InvalidInput):
		issue(SECRET, "CTR-1", now=NOW, ttl=timedelta(0))
	with pytest.raises(InvalidInput):
		verify(SECRET, issue(SECRET, "CTR-1", now=NOW).token, now="now", jti_state=active)
