"""One-time SMS codes: generation, hashing, expiry, 5 tries then locked, one code per subject."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from gigafibre_fsm.core import otp
from gigafibre_fsm.core.errors import InvalidInput

SECRET = "site-secret-" + "y" * 32
MAC = "aa:bb:cc:dd:ee:ff"
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def challenge(code="123456", now=NOW, previous=None, **kw):
	state, issued = otp.new_challenge(SECRET, MAC, code, now=now, previous=previous, **kw)
	return state, issued


def test_codes_are_six_random_digits():
	codes = [otp.generate_code() for _ in range(2000)]
	assert all(re.fullmatch(r"\d{6}", c) for c in codes)
	assert len(set(codes)) > 1900  # not a constant, not a tiny space
	first_digits = Counter(c[0] for c in codes)
	assert set(first_digits) == set("0123456789")  # leading zeros are kept


def test_hash_is_keyed_bound_to_the_subject_and_hides_the_code():
	h = otp.hash_code(SECRET, MAC, "123456")
	assert re.fullmatch(r"[0-9a-f]{64}", h) and "123456" not in h
	assert h == otp.hash_code(SECRET, MAC, "123456")
	assert h != otp.hash_code(SECRET, "11:22:33:44:55:66", "123456")
	assert h != otp.hash_code("another-secret", MAC, "123456")
	assert h != otp.hash_code(SECRET, MAC, "123457")
	with pytest.raises(InvalidInput):
		otp.hash_code("", MAC, "123456")


def test_code_matches_only_the_right_well_formed_code():
	h = otp.hash_code(SECRET, MAC, "012345")
	assert otp.code_matches(SECRET, MAC, "012345", h)
	assert otp.code_matches(SECRET, MAC, " 012345 ", h)
	assert not otp.code_matches(SECRET, MAC, "12345", h)
	assert not otp.code_matches(SECRET, MAC, "012346", h)
	assert not otp.code_matches(SECRET, MAC, "012345", None)
	assert not otp.code_matches(SECRET, MAC, None, h)


def test_state_is_a_plain_json_dict_without_the_code():
	state, issued = challenge("654321")
	assert issued
	assert json.loads(json.dumps(state)) == state
	assert "654321" not in json.dumps(state)
	assert state["expires_at"] - state["issued_at"] == otp.CODE_TTL == 600
	assert state["attempts"] == 0 and state["locked"] is False
	assert otp.ttl_seconds(state, NOW) == 600
	assert otp.ttl_seconds(state, NOW + timedelta(minutes=4)) == 360


def test_right_code_succeeds_once():
	state, _ = challenge("654321")
	outcome, state = otp.attempt(state, SECRET, MAC, "654321", now=NOW + timedelta(minutes=1))
	assert (outcome, state) == (otp.OK, None)
	assert otp.attempt(state, SECRET, MAC, "654321", now=NOW)[0] == otp.MISSING


def test_wrong_code_counts_and_the_fifth_locks_even_the_right_code():
	state, _ = challenge("654321")
	for n in range(1, 5):
		outcome, state = otp.attempt(state, SECRET, MAC, "000000", now=NOW)
		assert outcome == otp.WRONG and state["attempts"] == n and not state["locked"]
	outcome, state = otp.attempt(state, SECRET, MAC, "000000", now=NOW)
	assert outcome == otp.WRONG and state["attempts"] == 5 and state["locked"]
	outcome, after = otp.attempt(state, SECRET, MAC, "654321", now=NOW + timedelta(minutes=1))
	assert outcome == otp.LOCKED and after == state
	assert otp.is_locked(state, NOW)


def test_the_lock_holds_against_a_new_request_until_it_expires():
	state, _ = challenge("654321")
	for _ in range(otp.MAX_ATTEMPTS):
		_, state = otp.attempt(state, SECRET, MAC, "999999", now=NOW)
	kept, issued = challenge("111111", now=NOW + timedelta(minutes=9), previous=state)
	assert not issued and kept == state
	assert otp.attempt(kept, SECRET, MAC, "111111", now=NOW + timedelta(minutes=9))[0] == otp.LOCKED
	# once the locked code has expired, a new code can be issued
	fresh, issued = challenge("111111", now=NOW + timedelta(minutes=10), previous=state)
	assert issued and fresh["attempts"] == 0 and not fresh["locked"]
	assert otp.attempt(fresh, SECRET, MAC, "111111", now=NOW + timedelta(minutes=11))[0] == otp.OK


def test_malformed_codes_count_as_wrong_tries():
	state, _ = challenge("654321")
	for bad in ("", "abc", "65432", "6543210", None):
		outcome, state = otp.attempt(state, SECRET, MAC, bad, now=NOW)
		assert outcome == otp.WRONG
	assert state["attempts"] == 5 and state["locked"]


def test_codes_expire():
	state, _ = challenge("654321")
	just_before = NOW + timedelta(seconds=599)
	assert otp.attempt(state, SECRET, MAC, "654321", now=just_before)[0] == otp.OK
	outcome, after = otp.attempt(state, SECRET, MAC, "654321", now=NOW + timedelta(seconds=600))
	assert (outcome, after) == (otp.EXPIRED, None)
	assert otp.ttl_seconds(state, NOW + timedelta(minutes=11)) == 0
	assert not otp.is_locked(state, NOW + timedelta(minutes=11))


def test_a_new_request_replaces_the_code_and_resets_attempts():
	first, _ = challenge("111111")
	_, first = otp.attempt(first, SECRET, MAC, "000000", now=NOW)
	second, issued = challenge("222222", now=NOW + timedelta(minutes=2), previous=first)
	assert issued and second["attempts"] == 0
	assert otp.attempt(second, SECRET, MAC, "111111", now=NOW + timedelta(minutes=3))[0] == otp.WRONG
	assert otp.attempt(second, SECRET, MAC, "222222", now=NOW + timedelta(minutes=3))[0] == otp.OK


def test_a_code_is_bound_to_its_subject():
	state, _ = challenge("654321")
	assert otp.attempt(state, SECRET, "11:22:33:44:55:66", "654321", now=NOW)[0] == otp.WRONG


def test_missing_or_garbage_state_is_missing():
	for state in (None, {}, {"hash": "x"}, "text", {**challenge()[0], "attempts": "0"}):
		assert otp.attempt(state, SECRET, MAC, "123456", now=NOW) == (otp.MISSING, None)


def test_now_as_epoch_seconds_and_naive_times_refused():
	state, _ = challenge("654321", now=NOW.timestamp())
	assert state["issued_at"] == int(NOW.timestamp())
	with pytest.raises(InvalidInput):
		challenge("654321", now=datetime(2026, 3, 2, 14, 0))
	with pytest.raises(InvalidInput):
		challenge("12345")
	with pytest.raises(InvalidInput):
		challenge("123456", ttl=0)


@pytest.mark.parametrize(
	"given, on_file, same",
	[
		("514-555-0199", "+15145550199", True),
		("(514) 555 0199", "5145550199", True),
		("1 514 555 0199", "+1 (514) 555-0199", True),
		("514-555-0198", "+15145550199", False),
		("", "", False),
		("555-0199", "555-0199", False),  # too short to identify anyone
		("514-555-0199", None, False),
	],
)
def test_phones_match_on_their_last_ten_digits(given, on_file, same):
	assert otp.phones_match(given, on_file) is same
