"""The vision connector (google-genai SDK) against a fake Gemini generateContent peer on
loopback: the request the SDK really sends, the label read back and checked, timeouts,
refused keys and malformed answers as typed errors."""

from __future__ import annotations

import base64
import time

import pytest

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.vision import VisionMalformed, VisionTimeout, read_label
from gigafibre_fsm.core.settings import VisionSettings
from gigafibre_fsm.core.vision import LABEL_SCHEMA
from gigafibre_fsm.fakepeers.gemini import FakeGemini
from gigafibre_fsm.fakepeers.http import Response

PHOTO = b"\xff\xd8\xff\xe0" + b"label photo of an XX230v" * 20
LABEL = {
	"barcodes": [
		{"format": "CODE128", "value": "2235ABCD0042"},
		{"format": "QR_CODE", "value": "WIFI:S:Gigafibre;"},
	],
	"fields": {
		"serial": "2235abcd0042",
		"mac": "A0-B1-C2-D3-E4-F5",
		"gpon_serial": "TPLG1A2B3C4D",
		"model": "XX230v",
		"manufacturer": "TP-Link",
	},
}


@pytest.fixture
def gemini(fake_peer) -> FakeGemini:
	return fake_peer(FakeGemini(api_key="k-123"))


def settings_for(peer, key="k-123", timeout=8.0) -> VisionSettings:
	return VisionSettings(api_base=peer.url, api_key=key, model="gemini-2.5-flash", timeout=timeout)


def test_reads_a_label_with_one_schema_call(gemini):
	gemini.add_label(PHOTO, LABEL)
	reading = read_label(settings_for(gemini), PHOTO, "image/jpeg")
	scan = reading.scan
	assert scan.serial == "2235ABCD0042"
	assert scan.mac == "a0:b1:c2:d3:e4:f5"
	assert scan.gpon_serial == "TPLG1A2B3C4D"
	assert (scan.model, scan.manufacturer) == ("XX230v", "TP-Link")
	assert [b.value for b in scan.barcodes] == ["2235ABCD0042", "WIFI:S:Gigafibre;"]
	(request,) = [r for r in gemini.requests if r.method == "POST"]
	assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
	assert request.headers["x-goog-api-key"] == "k-123"
	body = request.json()
	config = body["generationConfig"]
	assert config["responseMimeType"] == "application/json"
	assert config["responseSchema"]["required"] == LABEL_SCHEMA["required"]
	barcodes = config["responseSchema"]["properties"]["barcodes"]
	assert barcodes.get("maxItems", barcodes.get("max_items")) == 3  # proto JSON takes either spelling
	inline = next(p["inlineData"] for p in body["contents"][0]["parts"] if "inlineData" in p)
	assert base64.urlsafe_b64decode(inline["data"]) == PHOTO
	assert inline["mimeType"] == "image/jpeg"


def test_a_slow_model_is_a_timeout_after_the_configured_seconds(gemini):
	gemini.delay = 3.0
	started = time.monotonic()
	with pytest.raises(VisionTimeout):
		read_label(settings_for(gemini, timeout=1.0), PHOTO, "image/jpeg")
	assert time.monotonic() - started < 2.9  # gave up before the answer came


def test_a_wrong_or_missing_key_is_refused(gemini):
	with pytest.raises(ConnectorAuthError):
		read_label(settings_for(gemini, key="nope"), PHOTO, "image/jpeg")
	with pytest.raises(ConnectorUnavailable):
		read_label(settings_for(gemini, key=""), PHOTO, "image/jpeg")


@pytest.mark.parametrize(
	"answer, words",
	[
		("this is not json", "not JSON"),
		({"barcodes": [{"value": str(i)} for i in range(4)], "fields": {}}, "4 barcodes"),
		({"barcodes": [], "fields": {"mac": "A0:B1:C2:D3:E4"}}, "MAC"),
		({"barcodes": [], "fields": {"serial": "S/N ?!"}}, "serial"),
		({"barcodes": [], "fields": {"imei": "1234"}}, "unexpected fields"),
	],
)
def test_malformed_answers_are_errors_not_guesses(gemini, answer, words):
	gemini.add_label(PHOTO, answer)
	with pytest.raises(VisionMalformed) as caught:
		read_label(settings_for(gemini), PHOTO, "image/jpeg")
	assert words in str(caught.value)


def test_server_errors_are_typed_and_not_retried(gemini):
	gemini.fail_next.append(
		Response.json({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}, status=503)
	)
	with pytest.raises(ConnectorResponseError) as caught:
		read_label(settings_for(gemini), PHOTO, "image/jpeg")
	assert caught.value.status == 503
	assert len([r for r in gemini.requests if r.method == "POST"]) == 1


def test_an_unreachable_model_is_unavailable(gemini):
	settings = settings_for(gemini)
	gemini.stop()
	with pytest.raises(ConnectorUnavailable):
		read_label(settings, PHOTO, "image/jpeg")
