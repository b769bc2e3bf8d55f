"""Signed link tokens: scoped, expiring, revocable, tamper-proof, URL-safe."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from gigafibre_fsm.core import tokens
from gigafibre_fsm.core.errors import Forbidden, InvalidInput
from gigafibre_fsm.core.tokens import Claims, issue, verify

SECRET = "s3cret-" + "x" * 40
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def tech_token(**kw) -> str:
	args = dict(subject="TECH-0007", scope="technician", now=NOW, ttl=DAY, version=3)
	args.update(kw)
	return issue(SECRET, **args)


def reason_of(token: str, **kw) -> str:
	args = dict(scope="technician", now=NOW, current_version=3)
	args.update(kw)
	with pytest.raises(Forbidden) as err:
		verify(SECRET, token, **args)
	return err.value.reason


def test_claims_round_trip():
	token = tech_token(extra={"job": "JOB-00042", "lang": "fr", "n": [1, 2]})
	claims = verify(SECRET, token, scope="technician", now=NOW + timedelta(hours=2), current_version=3)
	assert claims == Claims(
		subject="TECH-0007",
		scope="technician",
		issued_at=NOW,
		expires_at=NOW + DAY,
		version=3,
		extra={"job": "JOB-00042", "lang": "fr", "n": [1, 2]},
	)
	assert claims.as_dict()["expires_at"] == "2026-03-03T14:00:00+00:00"


def test_epoch_seconds_and_accented_subjects_work_too():
	token = issue(SECRET, subject="Émilie", scope="contract", now=1_000, ttl=60)
	claims = verify(SECRET, token, scope="contract", now=1_059)
	assert claims.subject == "Émilie" and claims.version == 0 and claims.extra == {}


def test_token_is_url_safe_and_short():
	token = tech_token(extra={"job": "JOB-00042"})
	assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}", token)
	assert quote(token, safe="") == token  # nothing to escape in /t/<token>
	assert len(tech_token()) < 120


def test_payload_is_canonical_json():
	payload = tech_token().split(".")[0]
	raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
	assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
	assert json.loads(raw) == {
		"e": int((NOW + DAY).timestamp()),
		"i": int(NOW.timestamp()),
		"s": "technician",
		"u": "TECH-0007",
		"v": 3,
	}


def test_expiry_boundary():
	token = tech_token(ttl=timedelta(minutes=10))
	exp = NOW + timedelta(minutes=10)
	assert verify(SECRET, token, scope="technician", now=exp - timedelta(seconds=1), current_version=3)
	assert reason_of(token, now=exp) == "expired"
	assert reason_of(token, now=exp + timedelta(days=30)) == "expired"


def test_tampering_with_any_character_is_refused():
	token = tech_token(extra={"job": "JOB-00042"})
	alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i, ch in enumerate(token):
		other = alphabet[(alphabet.index(ch) + 1) % len(alphabet)] if ch != "." else "A"
		tampered = token[:i] + other + token[i + 1 :]
		assert reason_of(tampered) in {"bad_signature", "malformed"}, i


def test_forged_payload_with_a_reused_signature_is_refused():
	payload, signature = tech_token().split(".")
	claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
	claims["u"] = "TECH-0001"
	forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
	assert reason_of(f"{forged}.{signature}") == "bad_signature"


def test_wrong_scope_is_refused():
	token = tech_token()
	assert reason_of(token, scope="contract") == "wrong_scope"
	assert reason_of(token, scope="qr") == "wrong_scope"


def test_revoked_version_is_refused():
	token = tech_token(version=3)
	assert reason_of(token, current_version=4) == "revoked"
	assert reason_of(token, current_version=0) == "revoked"
	# no counter for this scope: the version is not checked
	assert verify(SECRET, token, scope="technician", now=NOW).version == 3


def test_a_token_signed_with_another_secret_is_refused():
	token = issue(
		"another-secret-entirely", subject="TECH-0007", scope="technician", now=NOW, ttl=DAY, version=3
	)
	assert reason_of(token) == "bad_signature"


def test_the_secret_is_not_used_raw():
	# the webhook signature (HMAC of the secret over a body) can never pass as a token signature
	payload = tech_token().split(".")[0]
	mac = tokens.hmac.new(SECRET.encode(), tokens.SIGNING_PREFIX + payload.encode(), "sha256").digest()
	raw_sig = base64.urlsafe_b64encode(mac[:16]).rstrip(b"=").decode()
	assert reason_of(f"{payload}.{raw_sig}") == "bad_signature"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.", ".b", "é.b", "x" * 5000, "a b.c", None])
def test_garbage_is_malformed(garbage):
	assert reason_of(garbage) == "malformed"


def test_a_signed_payload_that_is_not_claims_is_malformed():
	key = tokens._key(SECRET)
	payload = tokens._b64encode(b'{"u":"x"}')
	assert reason_of(f"{payload}.{tokens._sign(key, payload)}") == "malformed"


def test_reasons_are_distinct_and_messages_do_not_leak():
	token = tech_token()
	errors = {}
	for kw in (
		dict(now=NOW + 2 * DAY),
		dict(current_version=9),
		dict(scope="contract"),
		dict(token=token[:-1] + ("A" if token[-1] != "A" else "B")),
		dict(token="nonsense"),
	):
		args = dict(scope="technician", now=NOW, current_version=3)
		t = kw.pop("token", token)
		args.update(kw)
		with pytest.raises(tokens.TokenRejected) as err:
			verify(SECRET, t, **args)
		errors[err.value.reason] = str(err.value)
	assert set(errors) == {"expired", "revoked", "wrong_scope", "bad_signature", "malformed"}
	assert len(set(errors.values())) == 5
	for message in errors.values():
		assert "TECH" not in message and "technician" not in message and token[:10] not in message


@pytest.mark.parametrize(
	"kw",
	[
		dict(subject=""),
		dict(scope=""),
		dict(version=-1),
		dict(version=True),
		dict(ttl=0),
		dict(ttl=timedelta(seconds=-5)),
		dict(now=datetime(2026, 3, 2, 14, 0)),  # naive
		dict(extra={"when": NOW}),  # not JSON
	],
)
def test_bad_issue_arguments(kw):
	with pytest.raises(InvalidInput):
		tech_token(**kw)


def test_a_secret_is_required():
	with pytest.raises(InvalidInput):
		issue("", subject="TECH-0007", scope="technician", now=NOW, ttl=DAY)
	with pytest.raises(InvalidInput):
		verify(b"", tech_token(), scope="technician", now=NOW)
