"""The Twilio connector against a fake Twilio peer on loopback (gigafibre_fsm.fakepeers.twilio)."""

import json

import pytest

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.twilio import TwilioRejected, fetch_recording, recording_media_url, send_sms
from gigafibre_fsm.core.settings import TwilioSettings
from gigafibre_fsm.fakepeers.http import Response
from gigafibre_fsm.fakepeers.twilio import FakeTwilio


def settings_for(peer, **kw):
	values = dict(
		account_sid=peer.account_sid,
		auth_token=peer.auth_token,
		from_number="+14505550100",
		api_base=peer.url,
		timeout=2,
	)
	values.update(kw)
	return TwilioSettings(**values)


def test_sends_and_returns_the_sid(fake_peer):
	peer = fake_peer(FakeTwilio())
	sent = send_sms(settings_for(peer), "+15145550123", "Bon de commande reçu")
	assert sent.sid.startswith("SM") and sent.status == "queued"
	(message,) = peer.sent
	assert message["sid"] == sent.sid
	assert message["body"] == "Bon de commande reçu"
	assert message["from"] == "+14505550100"
	form = peer.requests[0].form()
	assert form["To"] == ["+15145550123"]


def test_answer_matches_the_published_schema(fake_peer, shared_dir):
	spec_path = shared_dir / "specs" / "twilio_api_v2010.json"
	if not spec_path.exists():
		pytest.skip(f"Twilio's OpenAPI description is absent ({spec_path})")
	spec = json.loads(spec_path.read_text())
	props = set(spec["components"]["schemas"]["api.v2010.account.message"]["properties"])
	peer = fake_peer(FakeTwilio())
	send_sms(settings_for(peer), "+15145550123", "x")
	assert set(peer.sent[0]) == props


def test_bad_credentials(fake_peer):
	peer = fake_peer(FakeTwilio())
	with pytest.raises(ConnectorAuthError):
		send_sms(settings_for(peer, auth_token="wrong"), "+15145550123", "x")


def test_invalid_number_is_a_permanent_refusal(fake_peer):
	peer = fake_peer(FakeTwilio())
	with pytest.raises(TwilioRejected) as err:
		send_sms(settings_for(peer), "514-555", "x")
	assert err.value.code == 21211 and err.value.status == 400


def test_timeout_and_refused_connection(fake_peer):
	peer = fake_peer(FakeTwilio())
	peer.fail_next.append(Response.json({}, status=201, delay=1.0))
	with pytest.raises(ConnectorTimeout):
		send_sms(settings_for(peer, timeout=0.2), "+15145550123", "x")
	settings = settings_for(peer)
	peer.stop()
	with pytest.raises(ConnectorUnavailable):
		send_sms(settings, "+15145550123", "x")


def test_not_configured():
	with pytest.raises(ConnectorUnavailable):
		send_sms(TwilioSettings(), "+15145550123", "x")


# -- voicemail recordings ----------------------------------------------------------------------

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8


def test_a_recording_is_downloaded_with_the_account_credentials(fake_peer):
	peer = fake_peer(FakeTwilio())
	sid, url = peer.add_recording(MP3)
	assert fetch_recording(settings_for(peer), url) == MP3
	(request,) = peer.requests
	assert request.path.endswith(f"/Recordings/{sid}.mp3")
	assert request.headers["authorization"].startswith("Basic ")


def test_only_recordings_of_this_account_on_the_api_host_are_fetched(fake_peer):
	peer = fake_peer(FakeTwilio())
	sid, url = peer.add_recording(MP3)
	settings = settings_for(peer)
	other_account = url.replace(peer.account_sid, "AC" + "1" * 32)
	elsewhere = url.replace(peer.url, "http://169.254.169.254")
	for bad in (other_account, elsewhere, url + "?x=1", url + "/../Messages", "", "garbage", url[:-2]):
		assert recording_media_url(settings, bad) is None
		with pytest.raises(TwilioRejected):
			fetch_recording(settings, bad)
	assert peer.requests == []  # nothing was asked of anyone
	assert recording_media_url(settings, url) == url + ".mp3"


def test_a_missing_recording_and_bad_credentials_are_told_apart(fake_peer):
	peer = fake_peer(FakeTwilio())
	_, url = peer.add_recording(MP3)
	gone = url[:-4] + "ffff"
	with pytest.raises(TwilioRejected) as err:
		fetch_recording(settings_for(peer), gone)
	assert err.value.status == 404
	with pytest.raises(ConnectorAuthError):
		fetch_recording(settings_for(peer, auth_token="wrong"), url)


def test_a_recording_that_is_not_audio_or_too_large_is_refused(fake_peer, monkeypatch):
	from gigafibre_fsm.connectors import twilio as connector

	peer = fake_peer(FakeTwilio())
	_, url = peer.add_recording(MP3)
	_, page = peer.add_recording(b"<html>login</html>", content_type="text/html")
	with pytest.raises(ConnectorResponseError, match="not audio"):
		fetch_recording(settings_for(peer), page)
	monkeypatch.setattr(connector, "MAX_RECORDING_BYTES", len(MP3) - 1)
	with pytest.raises(ConnectorResponseError, match="too large"):
		fetch_recording(settings_for(peer), url)
