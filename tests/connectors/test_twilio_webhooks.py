"""Twilio's inbound webhooks: the fake Twilio (gigafibre_fsm.fakepeers.twilio) signs its requests
as Twilio documents, independently of the SDK; the connector checks them with the SDK's
RequestValidator. A loopback receiver records what went over the wire."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gigafibre_fsm.connectors.twilio import messaging_twiml, signature_valid, voice_twiml
from gigafibre_fsm.core.comms import phone_menu as pm
from gigafibre_fsm.fakepeers.http import FakePeer, Response
from gigafibre_fsm.fakepeers.twilio import FakeTwilio

OPEN = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
ACTION = "https://erp.example.com/api/method/gigafibre_fsm.api.webhooks.twilio_voice"


class Receiver(FakePeer):
	"""Our site's side, reduced to recording each request and answering 200."""

	def setup_routes(self):
		@self.route("POST", r"/hook")
		def hook(request):
			return Response(status=200, body=b"<Response/>", headers={"Content-Type": "text/xml"})


@pytest.fixture
def wire(fake_peer):
	return fake_peer(Receiver()), FakeTwilio()


def _received(receiver):
	request = receiver.requests[-1]
	form = {k: v[-1] for k, v in request.form().items()}
	return form, request.headers.get("x-twilio-signature")


def test_a_signed_sms_over_the_wire_is_valid_with_accents(wire):
	receiver, twilio = wire
	url = receiver.url + "/hook"
	assert twilio.deliver_sms(url, "+15145550123", "Arrêt, ça ne marche pas & 100% ?").status_code == 200
	form, signature = _received(receiver)
	assert form["Body"] == "Arrêt, ça ne marche pas & 100% ?"
	assert signature_valid(twilio.auth_token, url, form, signature)


def test_wrong_token_tampered_body_other_url_or_no_signature_fail(wire):
	receiver, twilio = wire
	url = receiver.url + "/hook"
	twilio.deliver_sms(url, "+15145550123", "bonjour")
	form, signature = _received(receiver)
	assert not signature_valid("another-token", url, form, signature)
	assert not signature_valid(twilio.auth_token, url, {**form, "Body": "bonjour!"}, signature)
	assert not signature_valid(twilio.auth_token, url + "?x=1", form, signature)
	assert not signature_valid(twilio.auth_token, url, form, None)
	assert not signature_valid(twilio.auth_token, url, form, "")
	assert not signature_valid(twilio.auth_token, url, form, "A" * 5000)
	assert not signature_valid("", url, form, signature)


def test_behind_a_proxy_the_public_url_is_what_is_signed(wire):
	receiver, twilio = wire
	public = "https://erp.example.com/api/method/gigafibre_fsm.api.webhooks.twilio_sms"
	twilio.deliver_sms(receiver.url + "/hook", "+15145550123", "allo", signed_url=public)
	form, signature = _received(receiver)
	assert signature_valid(twilio.auth_token, public, form, signature)
	assert not signature_valid(twilio.auth_token, receiver.url + "/hook", form, signature)
	# Twilio may sign with or without the default port: both are accepted
	with_port = "https://erp.example.com:443/api/method/gigafibre_fsm.api.webhooks.twilio_sms"
	assert signature_valid(twilio.auth_token, with_port, form, signature)


def test_repeated_fields_are_signed_as_twilio_does():
	twilio = FakeTwilio.__new__(FakeTwilio)
	twilio.auth_token = "tok"
	params = {"To": "+1", "From": "+2", "Body": "x"}
	assert signature_valid("tok", ACTION, params, twilio.sign(ACTION, params))


def _tree(xml: str):
	return ET.fromstring(xml)


def test_voice_twiml_menu_gather_then_redirect():
	d = pm.decide(
		"start",
		digits=None,
		attempt=1,
		lang="fr",
		caller=pm.Caller(known=True),
		now=OPEN,
		hours=pm.BusinessHours(),
	)
	root = _tree(voice_twiml(d, action_url=ACTION, queues={}))
	gather, redirect = list(root)
	assert gather.tag == "Gather" and gather.get("timeout") == "6" and gather.get("numDigits") == "1"
	assert gather.get("action") == ACTION + "?step=menu&lang=fr&attempt=1"
	says = [(s.get("language"), s.text) for s in gather]
	assert says[-1] == ("en-CA", "For English, press 9.")
	assert ("fr-CA", "Nous avons trouvé votre compte.") in says
	assert redirect.tag == "Redirect" and redirect.text == ACTION + "?step=menu&lang=fr&attempt=1"


def test_voice_twiml_queue_with_and_without_a_number():
	d = pm.decide(
		"menu", digits="0", attempt=1, lang="fr", caller=pm.Caller(), now=OPEN, hours=pm.BusinessHours()
	)
	root = _tree(voice_twiml(d, action_url=ACTION, queues={"support": "+14505550199"}))
	dial = root.find("Dial")
	assert dial.text == "+14505550199" and dial.get("action").endswith("step=after_dial&lang=fr&attempt=1")
	root = _tree(voice_twiml(d, action_url=ACTION, queues={}))
	assert root.find("Dial") is None and root.find("Redirect").text.endswith(
		"step=after_dial&lang=fr&attempt=1"
	)


def test_voice_twiml_voicemail_records_and_transcribes():
	closed = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
	d = pm.decide(
		"start", digits=None, attempt=1, lang="fr", caller=pm.Caller(), now=closed, hours=pm.BusinessHours()
	)
	record = _tree(voice_twiml(d, action_url=ACTION, queues={})).find("Record")
	assert record.get("transcribe") == "true" and record.get("maxLength") == "120"
	assert "step=voicemail" in record.get("action") and "step=transcription" in record.get(
		"transcribeCallback"
	)


def test_voice_twiml_billing_words():
	caller = pm.Caller(known=True, balance=Decimal("10.05"))
	d = pm.decide("menu", digits="2", attempt=1, lang="en", caller=caller, now=OPEN, hours=pm.BusinessHours())
	text = " ".join(s.text for s in _tree(voice_twiml(d, action_url=ACTION, queues={})).iter("Say"))
	assert "10 dollars and 5 cents" in text


def test_messaging_twiml():
	assert _tree(messaging_twiml()).tag == "Response" and len(_tree(messaging_twiml())) == 0
	assert _tree(messaging_twiml("Merci")).find("Message").text == "Merci"
