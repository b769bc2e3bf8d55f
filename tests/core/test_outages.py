"""Outage rules: reading Uptime-Kuma notifications, open/close transitions, PON grouping."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from gigafibre_fsm.core import outages as o
from gigafibre_fsm.core.errors import InvalidInput

# What Uptime-Kuma's webhook provider posts (server/notification-providers/webhook.js)
DOWN_BODY = {
	"heartbeat": {
		"monitorID": 29,
		"status": 0,
		"time": "2026-03-02 14:05:30.527",
		"msg": "timeout of 48000ms exceeded",
		"important": True,
		"duration": 0,
		"timezone": "America/Toronto",
		"timezoneOffset": "-05:00",
		"localDateTime": "2026-03-02 09:05:30",
	},
	"monitor": {
		"id": 29,
		"name": "OLT Sainte-Clotilde",
		"url": "https://",
		"hostname": "10.0.0.2",
		"type": "ping",
	},
	"msg": "[OLT Sainte-Clotilde] [🔴 Down] timeout of 48000ms exceeded",
}


def test_a_down_notification_is_read():
	event = o.parse_kuma(o.load_body(json.dumps(DOWN_BODY).encode()))
	assert (event.monitor_id, event.monitor_name, event.status) == ("29", "OLT Sainte-Clotilde", o.DOWN)
	assert event.time == datetime(2026, 3, 2, 14, 5, 30, 527000)
	assert event.message == "timeout of 48000ms exceeded"
	assert event.key == "kuma:29"
	assert event.event_key == "kuma:29:0:2026-03-02T14:05:30.527000"
	assert event.monitor_url == "https://"


def test_form_data_and_get_notifications_are_read_too():
	form = {"data": json.dumps(DOWN_BODY)}
	assert o.parse_kuma(o.load_body(b"", form)).status == o.DOWN
	as_get = {
		"msg": DOWN_BODY["msg"],
		"heartbeat": json.dumps(DOWN_BODY["heartbeat"]),
		"monitor": json.dumps(DOWN_BODY["monitor"]),
	}
	assert o.parse_kuma(as_get).monitor_id == "29"


def test_the_test_button_is_a_test_event():
	event = o.parse_kuma({"heartbeat": None, "monitor": None, "msg": "Uptime Kuma Testing Message"})
	assert event.is_test


@pytest.mark.parametrize(
	"body",
	[
		b"not json",
		b"[1, 2]",
		{"hello": "world"},
		{**DOWN_BODY, "heartbeat": {**DOWN_BODY["heartbeat"], "status": 7}},
		{**DOWN_BODY, "heartbeat": {**DOWN_BODY["heartbeat"], "status": True}},
		{**DOWN_BODY, "heartbeat": {**DOWN_BODY["heartbeat"], "time": "yesterday"}},
		{**DOWN_BODY, "heartbeat": "{oops", "monitor": DOWN_BODY["monitor"]},
		{"heartbeat": {"status": 0}, "monitor": {}, "msg": "no monitor"},
		{**DOWN_BODY, "monitor": ["a"]},
	],
)
def test_what_is_not_a_notification_is_refused(body):
	with pytest.raises(InvalidInput):
		o.parse_kuma(o.load_body(body if isinstance(body, bytes) else json.dumps(body)))


def test_times_with_offsets_become_utc():
	assert o.parse_time("2026-03-02T09:05:30-05:00") == datetime(2026, 3, 2, 14, 5, 30)
	assert o.parse_time("2026-03-02T14:05:30Z") == datetime(2026, 3, 2, 14, 5, 30)
	assert o.parse_time(None) is None


def test_monitor_mapping_by_id_then_name():
	event = o.parse_kuma(DOWN_BODY)
	rows = [{"monitor": "olt sainte-clotilde", "olt": "A"}, {"monitor": "29", "olt": "B"}]
	assert o.match_monitor(rows, event)["olt"] == "B"
	assert o.match_monitor(rows[:1], event)["olt"] == "A"
	assert o.match_monitor([{"monitor": "30"}], event) is None


T0 = datetime(2026, 3, 2, 9, 0)


def test_three_downs_open_one_outage_and_up_closes_it_with_its_duration():
	state = o.OutageState()
	first = o.decide(state, o.DOWN, T0)
	assert first.action == o.OPEN
	state = o.OutageState(open_name="OUT-1", open_started=T0)
	for minutes in (1, 2):
		assert o.decide(state, o.DOWN, T0 + timedelta(minutes=minutes)).action == o.NOTHING
	up = o.decide(state, o.UP, T0 + timedelta(minutes=47, seconds=5))
	assert (up.action, up.duration_seconds) == (o.CLOSE, 47 * 60 + 5)
	closed = o.OutageState(last_resolved=T0 + timedelta(minutes=47))
	assert o.decide(closed, o.UP, T0 + timedelta(minutes=48)).action == o.NOTHING  # nothing open
	stale = o.decide(closed, o.DOWN, T0 + timedelta(minutes=1))  # an old beat retried late
	assert (stale.action, stale.reason) == (o.NOTHING, "stale")
	assert o.decide(closed, o.DOWN, T0 + timedelta(hours=2)).action == o.OPEN  # a new outage
	assert o.decide(o.OutageState(), o.PENDING, T0).action == o.NOTHING
	assert o.decide(o.OutageState(), o.MAINTENANCE, T0).action == o.NOTHING


def test_durations_and_site_time():
	assert o.duration(T0, T0 - timedelta(minutes=5)) == 0
	assert o.describe_duration(3900) == "1 h 05 min"
	assert o.describe_duration(720) == "12 min"
	assert o.describe_duration(40) == "40 s"
	assert o.to_site_time(datetime(2026, 3, 2, 14, 5), "America/Toronto") == datetime(2026, 3, 2, 9, 5)
	assert o.to_site_time(datetime(2026, 7, 2, 14, 5), "America/Toronto") == datetime(2026, 7, 2, 10, 5)


def test_many_alarms_on_one_pon_port_are_one_outage():
	alarms = ["1/1/1"] * 100 + ["1/1/2"] * 3 + ["1/1/3"] * 5
	known = {"1/1/1": 120, "1/1/2": 3, "1/1/3": 60}
	verdicts = o.pon_outages(alarms, known)
	assert set(verdicts) == {"1/1/1"}  # 1/1/2: too few ONTs; 1/1/3: 5 of 60 are single faults
	assert (verdicts["1/1/1"].alarming, verdicts["1/1/1"].known) == (100, 120)
	assert o.pon_outages(["1/1/2"] * 3, known, min_onts=3)["1/1/2"].share == 1.0
	assert o.pon_outages([], known) == {}
	assert set(o.pon_outages(["9/9/9"] * 4, {})) == {"9/9/9"}  # unknown ONTs still count
	with pytest.raises(InvalidInput):
		o.pon_outages(alarms, known, min_share=0)
