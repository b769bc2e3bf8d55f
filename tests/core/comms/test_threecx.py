from datetime import UTC, datetime

import pytest

from gigafibre_fsm.core.comms.threecx import JournalError, parse_duration, parse_entry

ENTRY = {
	"Number": "(514) 555-0123",
	"CallType": "Inbound",
	"CallDirection": "Inbound",
	"Agent": "101",
	"AgentFirstName": "Julie",
	"AgentLastName": "Roy",
	"AgentEmail": "julie@example.com",
	"Duration": "00:03:25",
	"CallStartTimeUTC": "2026-12-03 14:05:00",
	"CallEndTimeUTC": "2026-12-03 14:08:25",
}


def test_an_answered_inbound_call():
	call = parse_entry(ENTRY)
	assert call.e164 == "+15145550123"
	assert (call.direction, call.answered, call.status, call.missed) == ("Incoming", True, "Completed", False)
	assert call.duration == 205
	assert call.start == datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
	assert call.agent == "101" and call.agent_name == "Julie Roy"
	assert call.key.startswith("3CX-")


def test_the_same_call_twice_has_the_same_key_and_another_call_another():
	assert parse_entry(dict(ENTRY)).key == parse_entry(dict(ENTRY)).key
	assert parse_entry({**ENTRY, "CallStartTimeUTC": "2026-12-03 15:00:00"}).key != parse_entry(ENTRY).key
	assert parse_entry({**ENTRY, "CallId": "00000ABC"}).key == "3CX-00000ABC"


def test_missed_and_unanswered_outbound():
	missed = parse_entry({**ENTRY, "CallType": "Missed", "Duration": "0"})
	assert missed.missed and missed.status == "No Answer" and missed.direction == "Incoming"
	out = parse_entry({**ENTRY, "CallType": "Notanswered"})
	assert out.direction == "Outgoing" and not out.missed and not out.answered


def test_names_are_case_insensitive_and_end_is_derived():
	call = parse_entry(
		{
			"number": "5145550123",
			"calltype": "outbound",
			"duration": "65",
			"call_start_time_utc": "2026-12-03T14:05:00Z",
		}
	)
	assert call.direction == "Outgoing" and call.duration == 65
	assert (call.end - call.start).total_seconds() == 65


@pytest.mark.parametrize(
	"entry",
	[
		[],
		{},
		{"Number": "5145550123"},
		{**ENTRY, "CallType": "Teleport", "CallDirection": ""},
		{**ENTRY, "Duration": "forever"},
		{**ENTRY, "CallStartTimeUTC": "yesterday"},
		{"Number": "5145550123", "CallType": "Inbound"},  # no id and no time: no stable key
	],
)
def test_unreadable_entries_are_refused(entry):
	with pytest.raises(JournalError):
		parse_entry(entry)


def test_durations():
	assert parse_duration("01:00:01") == 3601 and parse_duration("02:05") == 125 and parse_duration("") == 0
