"""The vision model's label answer: checked against the schema and the formats, never guessed."""

from __future__ import annotations

import base64
import json

import pytest

from gigafibre_fsm.core.errors import Conflict, InvalidInput
from gigafibre_fsm.core.vision import (
	check_gpon_serial,
	check_serial,
	decode_image,
	resolve_match,
	validate_label,
)

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_a_full_label():
	scan = validate_label(
		json.dumps(
			{
				"barcodes": [{"format": "CODE128", "value": " 2235ABCD0042 "}, {"value": ""}],
				"fields": {
					"serial": "S/N: 2235abcd0042",
					"mac": "a0b1.c2d3.e4f5",
					"gpon_serial": "5A5445471A2B3C4D",
					"model": "ZXHN F660",
					"manufacturer": "ZTE",
				},
			}
		)
	)
	assert scan.serial == "2235ABCD0042"
	assert scan.mac == "a0:b1:c2:d3:e4:f5"
	assert scan.gpon_serial == "ZTEG1A2B3C4D"  # the hex spelling, vendor id decoded
	assert [b.value for b in scan.barcodes] == ["2235ABCD0042"]
	assert scan.candidates() == [
		("serial", "2235ABCD0042"),
		("gpon_serial", "ZTEG1A2B3C4D"),
		("mac", "a0:b1:c2:d3:e4:f5"),
	]  # the barcode repeats the serial: asked once
	assert not scan.empty


def test_nulls_and_placeholders_are_absent():
	scan = validate_label({"barcodes": [], "fields": {"serial": None, "mac": "N/A", "model": "null"}})
	assert scan.empty and scan.serial == scan.mac == scan.model == ""


@pytest.mark.parametrize(
	"answer",
	[
		"{not json",
		"[]",
		{"barcodes": "x", "fields": {}},
		{"barcodes": [{"value": "1"}] * 4, "fields": {}},
		{"barcodes": ["plain"], "fields": {}},
		{"barcodes": [], "fields": {"mac": "A0:B1:C2:D3:E4:FG"}},
		{"barcodes": [], "fields": {"serial": "a b"}},
		{"barcodes": [], "fields": {"serial": "ÉÉÉÉÉ"}},
		{"barcodes": [], "fields": {"gpon_serial": "ZTEG12"}},
		{"barcodes": [], "fields": {"serial": 12345}},
		{"barcodes": [], "fields": {"model": "x" * 81}},
		{"barcodes": [], "fields": {"colour": "white"}},
		{"barcodes": [{"value": "a\x00b"}], "fields": {}},
	],
)
def test_malformed_answers_are_refused(answer):
	with pytest.raises(InvalidInput):
		validate_label(answer)


def test_formats():
	assert check_serial("s/n 22 35 ab") == "2235AB"
	assert check_serial("SN12345678") == "SN12345678"  # no caption: the letters are the serial
	assert check_gpon_serial("hwtc-1a2b3c4d") == "HWTC1A2B3C4D"
	with pytest.raises(InvalidInput):
		check_gpon_serial("00000000FFFFFFFF")  # the hex vendor id is not letters


def test_matching_one_equipment_or_a_conflict():
	name, hits = resolve_match([("serial", "A", "EQP-1"), ("barcode", "B", None), ("mac", "m", "EQP-1")])
	assert name == "EQP-1" and [h["kind"] for h in hits] == ["serial", "mac"]
	assert resolve_match([("serial", "A", None)]) == (None, [])
	with pytest.raises(Conflict) as caught:
		resolve_match([("serial", "A", "EQP-1"), ("mac", "m", "EQP-2")])
	assert "EQP-1" in str(caught.value) and "EQP-2" in str(caught.value)


def test_photos_as_base64_or_data_urls():
	assert decode_image(base64.b64encode(JPEG).decode()) == (JPEG, "image/jpeg")
	url = "data:image/png;base64," + base64.b64encode(PNG).decode()
	assert decode_image(url) == (PNG, "image/png")
	assert decode_image(base64.urlsafe_b64encode(JPEG).decode().rstrip("="))[1] == "image/jpeg"
	heic = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 16
	assert decode_image(base64.b64encode(heic).decode())[1] == "image/heic"
	for bad in ("", "   ", "%%%", base64.b64encode(b"GIF89a....").decode(), 42):
		with pytest.raises(InvalidInput):
			decode_image(bad)
	with pytest.raises(InvalidInput):
		decode_image("A" * (12 * 1024 * 1024))
