import pytest

from gigafibre_fsm.core.comms import sms


@pytest.mark.parametrize(
	"body",
	[
		"STOP",
		"stop",
		" Stop. ",
		"ARRET",
		"ARRÊT",
		"arrêt",
		"Arrêt svp",
		"UNSUBSCRIBE",
		"désabonner",
		"stop please",
		"Opt out",
		"\tQUIT\n",
	],
)
def test_stop_words_in_both_languages(body):
	assert sms.keyword(body) == sms.STOP


@pytest.mark.parametrize("body", ["START", "start", " Start! ", "UNSTOP", "réabonner", "REPRENDRE"])
def test_start_words(body):
	assert sms.keyword(body) == sms.START


@pytest.mark.parametrize("body", ["HELP", "aide", "Info"])
def test_help_words(body):
	assert sms.keyword(body) == sms.HELP


@pytest.mark.parametrize(
	"body",
	[
		"",
		None,
		"Mon internet ne fonctionne pas, pouvez-vous arrêter de me facturer",
		"please stop the technician from coming today",  # a stop word not first: a real message
		"start the service please",  # re-subscribing must be unambiguous
		"stopper",
		"oui",
		"the end",
	],
)
def test_ordinary_messages_are_not_keywords(body):
	assert sms.keyword(body) is None


def test_service_messages_go_to_opted_out_numbers_and_the_rest_do_not():
	assert sms.may_send(sms.SERVICE, opted_out=True)
	assert not sms.may_send(sms.AGENT, opted_out=True)
	assert not sms.may_send(sms.MARKETING, opted_out=True)
	assert all(sms.may_send(c, opted_out=False) for c in sms.CATEGORIES)
	with pytest.raises(ValueError):
		sms.may_send("promo", opted_out=False)


def test_every_keyword_has_a_bilingual_reply():
	for word in (sms.STOP, sms.START, sms.HELP):
		reply = sms.REPLIES[word]
		assert "/" in reply and len(reply) < 320


def test_status_callbacks_never_move_a_message_back():
	assert sms.advances(None, "queued") and sms.advances("sent", "delivered")
	assert not sms.advances("delivered", "sent")  # a late "sent" after "delivered"
	assert sms.advances("sent", "undelivered") and not sms.advances("sent", "bogus")
	assert set(sms.DELIVERY_STATUS) == set(sms.STATUS_ORDER)
