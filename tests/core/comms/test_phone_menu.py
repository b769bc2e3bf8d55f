from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from gigafibre_fsm.core.comms import phone_menu as pm
from gigafibre_fsm.core.comms.phone_menu import (
	BusinessHours,
	Caller,
	Dial,
	Gather,
	Hangup,
	Outage,
	Redirect,
	Say,
)

HOURS = BusinessHours(time(8), time(20), time(9), time(17))
# Thursday 3 December 2026, 10:00 in Montreal (15:00 UTC, EST = UTC-5)
OPEN = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
KNOWN = Caller(known=True, line=pm.ONLINE, balance=Decimal("42.50"), next_due=date(2027, 1, 1))


def decide(step, digits=None, attempt=1, lang="fr", caller=KNOWN, now=OPEN, holidays=frozenset()):
	return pm.decide(
		step,
		digits=digits,
		attempt=attempt,
		lang=lang,
		caller=caller,
		now=now,
		hours=HOURS,
		holidays=holidays,
	)


def said(decision) -> str:
	words = []
	for verb in decision.verbs:
		if isinstance(verb, Say):
			words.append(verb.text)
		if isinstance(verb, Gather):
			words += [s.text for s in verb.prompt]
	return " ".join(words)


def kinds(decision):
	return [type(v).__name__ for v in decision.verbs]


# -- hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"moment,open_",
	[
		(datetime(2026, 12, 3, 12, 59, tzinfo=UTC), False),  # 7:59 local
		(datetime(2026, 12, 3, 13, 0, tzinfo=UTC), True),  # 8:00
		(datetime(2026, 12, 4, 0, 59, tzinfo=UTC), True),  # Thursday 19:59
		(datetime(2026, 12, 4, 1, 0, tzinfo=UTC), False),  # 20:00
		(datetime(2026, 12, 5, 15, 0, tzinfo=UTC), True),  # Saturday 10:00
		(datetime(2026, 12, 5, 22, 30, tzinfo=UTC), False),  # Saturday 17:30
		(datetime(2026, 12, 6, 15, 0, tzinfo=UTC), False),  # Sunday
		(datetime(2026, 7, 2, 12, 30, tzinfo=UTC), True),  # summer (EDT, UTC-4): 8:30
	],
)
def test_business_hours_in_montreal_time(moment, open_):
	assert pm.is_open(moment, HOURS, frozenset()) is open_


def test_a_statutory_holiday_is_closed_all_day():
	christmas = datetime(2026, 12, 25, 15, 0, tzinfo=UTC)
	assert not pm.is_open(christmas, HOURS, {date(2026, 12, 25)})
	assert pm.is_open(christmas - timedelta(days=1), HOURS, {date(2026, 12, 25)})


def test_closed_saturday_when_unset():
	assert not pm.is_open(
		datetime(2026, 12, 5, 15, 0, tzinfo=UTC), BusinessHours(saturday_open=None), frozenset()
	)


@pytest.mark.parametrize(
	"value,expected",
	[
		("8:00", time(8)),
		("08:30:00", time(8, 30)),
		(timedelta(hours=17, minutes=15), time(17, 15)),
		("", None),
		(None, None),
	],
)
def test_settings_times(value, expected):
	assert pm.parse_time(value) == expected


def test_an_unreadable_time_is_an_error():
	with pytest.raises(ValueError):
		pm.parse_time("eight")


# -- greeting and menu ---------------------------------------------------------------------


def test_known_caller_is_told_the_account_was_found_without_a_name():
	d = decide("start")
	assert "Nous avons trouvé votre compte" in said(d)
	assert "For English, press 9" in said(d)
	gather = d.verbs[0]
	assert isinstance(gather, Gather) and gather.timeout == pm.GATHER_TIMEOUT
	assert gather.params == {"step": "menu", "lang": "fr", "attempt": "1"}
	assert isinstance(d.verbs[1], Redirect)  # no key pressed: the menu step with no digits


def test_unknown_caller_gets_the_menu_without_account():
	d = decide("start", caller=Caller())
	assert "compte" not in said(d) and "Pour le soutien technique" in said(d)


def test_after_hours_is_voicemail():
	d = decide("start", now=datetime(2026, 12, 6, 15, 0, tzinfo=UTC))
	assert kinds(d) == ["Say", "Record", "Say", "Hangup"]
	assert "fermés" in said(d)
	assert d.verbs[1].params["step"] == "voicemail"
	assert decide("voicemail").action == pm.VOICEMAIL


def test_nine_is_english_for_the_rest_of_the_call():
	d = decide("menu", "9")
	assert "For technical support, press 1" in said(d) and "We found your account" in said(d)
	assert d.verbs[0].params["lang"] == "en" and all(v.lang == "en" for v in d.verbs[0].prompt)


def test_silence_asks_again_once_then_the_queue():
	again = decide("menu", None, attempt=1)
	assert again.verbs[0].params["attempt"] == "2" and "pas valide" not in said(again)
	queued = decide("menu", None, attempt=2)
	assert kinds(queued) == ["Say", "Dial"] and queued.verbs[1].queue == pm.SUPPORT_QUEUE
	assert queued.verbs[1].params["step"] == "after_dial"


def test_after_the_queue_a_finished_call_hangs_up_and_no_answer_is_voicemail():
	assert kinds(
		pm.decide(
			"after_dial",
			digits=None,
			attempt=1,
			lang="fr",
			caller=KNOWN,
			now=OPEN,
			hours=HOURS,
			dial_status="completed",
		)
	) == ["Hangup"]
	for status in ("no-answer", "busy", "failed", None):
		d = pm.decide(
			"after_dial",
			digits=None,
			attempt=1,
			lang="en",
			caller=KNOWN,
			now=OPEN,
			hours=HOURS,
			dial_status=status,
		)
		assert kinds(d) == ["Say", "Record", "Say", "Hangup"] and "No agent" in said(d)


def test_a_wrong_key_says_so():
	assert "pas valide" in said(decide("menu", "7"))


def test_sales_and_agent():
	assert [v.queue for v in decide("menu", "3").verbs if isinstance(v, Dial)] == [pm.SALES_QUEUE]
	assert [v.queue for v in decide("menu", "0").verbs if isinstance(v, Dial)] == [pm.SUPPORT_QUEUE]


# -- support -------------------------------------------------------------------------------


def test_support_reads_the_line_in_plain_words():
	assert "Votre service est en ligne" in said(decide("menu", "1"))
	offline = Caller(known=True, line=pm.OFFLINE)
	assert "hors ligne" in said(decide("menu", "1", caller=offline))
	assert "faible" in said(decide("menu", "1", caller=Caller(known=True, line=pm.WEAK)))
	assert "pas de lecture récente" in said(decide("menu", "1", caller=Caller(known=True)))


def test_support_in_an_outage_says_so_with_the_expected_time():
	outage = Outage(
		started=datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
		expected_end=datetime(2026, 12, 3, 20, 30, tzinfo=UTC),
	)
	d = decide("menu", "1", caller=Caller(known=True, line=pm.OFFLINE, outage=outage))
	text = said(d)
	assert "Une panne touche actuellement votre secteur depuis 9 h 05" in text
	assert "prévu vers 15 h 30" in text
	assert "hors ligne" not in text  # the outage explains it
	en = decide("menu", "1", lang="en", caller=Caller(known=True, outage=outage))
	assert "since 9:05 AM" in said(en) and "back by 3:30 PM" in said(en)
	tomorrow = Outage(expected_end=datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
	assert "le 4 décembre 2026 à 9 h" in said(decide("menu", "1", caller=Caller(known=True, outage=tomorrow)))
	unknown_end = decide("menu", "1", caller=Caller(known=True, outage=Outage()))
	assert "Nos techniciens y travaillent" in said(unknown_end)


def test_support_follow_ups():
	assert decide("support", "1").action == pm.OPEN_TICKET
	assert [v.queue for v in decide("support", "2").verbs if isinstance(v, Dial)] == [pm.SUPPORT_QUEUE]
	assert decide("support", None, attempt=1).verbs[0].params == {
		"step": "support",
		"lang": "fr",
		"attempt": "2",
	}
	assert any(isinstance(v, Dial) for v in decide("support", "5", attempt=2).verbs)


def test_unknown_caller_pressing_support_goes_to_the_queue_without_a_ticket():
	d = decide("menu", "1", caller=Caller())
	assert "pas trouvé de compte" in said(d) and any(isinstance(v, Dial) for v in d.verbs)
	assert decide("support", "1", caller=Caller()).action is None


# -- billing -------------------------------------------------------------------------------


def test_billing_reads_the_balance_and_the_next_due_date():
	text = said(decide("menu", "2"))
	assert "Votre solde est de 42 dollars et 50 cents" in text
	assert "le 1er janvier 2027" in text
	en = said(decide("menu", "2", lang="en"))
	assert "42 dollars and 50 cents" in en and "January 1, 2027" in en
	assert "aucun solde" in said(decide("menu", "2", caller=Caller(known=True, balance=Decimal(0))))


def test_billing_follow_ups():
	assert decide("billing", "1").action == pm.SEND_PAY_LINK
	assert "texto" in said(decide("billing", "1"))
	assert [v.queue for v in decide("billing", "2").verbs if isinstance(v, Dial)] == [pm.BILLING_QUEUE]


def test_every_gather_has_a_timeout_and_a_fallback():
	for step, digits in (("start", None), ("menu", "1"), ("menu", "2"), ("menu", None), ("support", None)):
		d = decide(step, digits)
		for i, verb in enumerate(d.verbs):
			if isinstance(verb, Gather):
				assert verb.timeout > 0
				assert isinstance(d.verbs[i + 1], Redirect)


def test_a_forged_step_starts_over_and_attempts_are_bounded():
	assert decide("../../etc").verbs[0].params["step"] == "menu"
	assert any(isinstance(v, Dial) for v in decide("menu", None, attempt=99).verbs)


def test_line_state():
	assert pm.line_state(None, None) is None
	assert pm.line_state(False, -20) == pm.OFFLINE
	assert pm.line_state(True, -27.5) == pm.WEAK
	assert pm.line_state(True, -18) == pm.ONLINE


def test_hangup_ends_the_final_answers():
	for d in (decide("support", "1"), decide("billing", "1"), decide("voicemail")):
		assert isinstance(d.verbs[-1], Hangup)
