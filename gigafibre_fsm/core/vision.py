"""Equipment labels read by the vision model: the response schema it must follow and the
checks its answer must pass before anything is matched or written.

The model answers JSON under ``LABEL_SCHEMA`` (Gemini's ``responseSchema``, an OpenAPI
subset): up to 3 barcodes and up to 5 label fields (serial, MAC, GPON serial, model,
manufacturer). ``validate_label`` turns that text into a ``LabelScan`` or raises
InvalidInput with what was wrong: a malformed answer is an error, never a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from gigafibre_fsm.core.equipment import normalise_mac
from gigafibre_fsm.core.errors import Conflict, InvalidInput

MAX_BARCODES = 3
LABEL_FIELDS = ("serial", "mac", "gpon_serial", "model", "manufacturer")

_NULLABLE_STRING = {"type": "STRING", "nullable": True}
LABEL_SCHEMA: dict = {
	"type": "OBJECT",
	"properties": {
		"barcodes": {
			"type": "ARRAY",
			"maxItems": MAX_BARCODES,
			"items": {
				"type": "OBJECT",
				"properties": {
					"format": {"type": "STRING", "description": "CODE128, QR_CODE, EAN13, DATA_MATRIX…"},
					"value": {"type": "STRING", "description": "the decoded text, exactly"},
				},
				"required": ["value"],
			},
		},
		"fields": {
			"type": "OBJECT",
			"properties": {
				"serial": {**_NULLABLE_STRING, "description": "S/N as printed"},
				"mac": {**_NULLABLE_STRING, "description": "MAC address as printed"},
				"gpon_serial": {**_NULLABLE_STRING, "description": "GPON SN / ONT SN"},
				"model": {**_NULLABLE_STRING, "description": "model name or number"},
				"manufacturer": {**_NULLABLE_STRING, "description": "brand or manufacturer"},
			},
		},
	},
	"required": ["barcodes", "fields"],
}

LABEL_PROMPT = (
	"This photo shows the label of a piece of telecom customer equipment (ONT, modem, router, "
	"TV box or IP phone). Decode up to 3 barcodes or QR codes on it, and read these printed "
	"fields: serial number (S/N), MAC address, GPON serial number (GPON SN, ONT SN), model, "
	"manufacturer. Copy characters exactly as printed; use null for a field that is not on the "
	"label or not readable. Never invent or complete a value."
)

_SERIAL = re.compile(r"^[A-Z0-9][A-Z0-9\-_/.]{3,39}$")
_GPON = re.compile(r"^[A-Z0-9]{4}[0-9A-F]{8}$")
_GPON_HEX = re.compile(r"^[0-9A-F]{16}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Barcode:
	value: str
	format: str = ""


@dataclass(frozen=True)
class LabelScan:
	barcodes: tuple[Barcode, ...] = ()
	serial: str = ""
	mac: str = ""
	gpon_serial: str = ""
	model: str = ""
	manufacturer: str = ""
	warnings: tuple[str, ...] = field(default=())

	@property
	def empty(self) -> bool:
		return not (self.barcodes or self.serial or self.mac or self.gpon_serial)

	def candidates(self) -> list[tuple[str, str]]:
		"""What to look equipment up by, in the network module's order: serial (the printed
		S/N, then the GPON serial), then the barcodes, then the MAC."""
		out: list[tuple[str, str]] = []
		for kind, value in (("serial", self.serial), ("gpon_serial", self.gpon_serial)):
			if value:
				out.append((kind, value))
		out += [("barcode", b.value) for b in self.barcodes]
		if self.mac:
			out.append(("mac", self.mac))
		seen, unique = set(), []
		for kind, value in out:
			if value not in seen:
				seen.add(value)
				unique.append((kind, value))
		return unique

	def as_dict(self) -> dict:
		data = asdict(self)
		data["barcodes"] = [asdict(b) for b in self.barcodes]
		data["warnings"] = list(self.warnings)
		return data


def _clean(value, what: str, limit: int) -> str:
	if value is None:
		return ""
	if not isinstance(value, str):
		raise InvalidInput("The model's answer gives the {0} as {1}, not text", what, type(value).__name__)
	text = value.strip()
	if text.lower() in ("", "null", "none", "n/a", "unknown"):
		return ""
	if len(text) > limit or _CONTROL.search(text):
		raise InvalidInput("The model's answer for the {0} is not a label value", what)
	return text


def check_serial(value: str) -> str:
	"""A printed serial: 4-40 letters, digits and - _ / . (upper-cased), else InvalidInput."""
	text = re.sub(r"\s+", "", value).upper()
	for prefix in ("S/N:", "SN:", "S/N"):  # a printed caption, not part of the serial
		if text.startswith(prefix) and len(text) > len(prefix) + 3:
			text = text[len(prefix) :]
			break
	if not _SERIAL.match(text):
		raise InvalidInput("The serial number read on the label ({0}) is not a valid serial", value)
	return text


def check_gpon_serial(value: str) -> str:
	"""A GPON serial: 4 vendor letters + 8 hex digits (``ZTEG1A2B3C4D``); the 16-hex-digit
	spelling (vendor id in hex, ``5A5445471A2B3C4D``) is turned into that form."""
	text = re.sub(r"[\s\-:]", "", value).upper()
	if _GPON_HEX.match(text):
		vendor = bytes.fromhex(text[:8])
		if vendor.isalnum() and vendor.isascii():
			text = vendor.decode().upper() + text[8:]
	if not _GPON.match(text):
		raise InvalidInput("The GPON serial read on the label ({0}) is not a valid GPON serial", value)
	return text


def validate_label(answer: str | bytes | dict) -> LabelScan:
	"""Check the model's JSON answer against the schema and the formats; InvalidInput if not."""
	if isinstance(answer, bytes | str):
		try:
			data = json.loads(answer)
		except (ValueError, UnicodeDecodeError):
			raise InvalidInput("The vision model's answer is not JSON")
	else:
		data = answer
	if not isinstance(data, dict):
		raise InvalidInput("The vision model's answer is not a JSON object")
	barcodes_raw = data.get("barcodes") or []
	fields_raw = data.get("fields") or {}
	if not isinstance(barcodes_raw, list) or not isinstance(fields_raw, dict):
		raise InvalidInput("The vision model's answer does not follow the label schema")
	if len(barcodes_raw) > MAX_BARCODES:
		raise InvalidInput(
			"The vision model returned {0} barcodes; at most {1} are expected",
			len(barcodes_raw),
			MAX_BARCODES,
		)
	unknown = sorted(set(fields_raw) - set(LABEL_FIELDS))
	if unknown:
		raise InvalidInput("The vision model's answer has unexpected fields: {0}", ", ".join(unknown)[:100])
	barcodes = []
	for item in barcodes_raw:
		if not isinstance(item, dict):
			raise InvalidInput("A barcode in the vision model's answer is not an object")
		value = _clean(item.get("value"), "barcode", 128)
		if value:
			barcodes.append(Barcode(value=value, format=_clean(item.get("format"), "barcode format", 40)))
	serial = _clean(fields_raw.get("serial"), "serial number", 64)
	mac = _clean(fields_raw.get("mac"), "MAC address", 40)
	gpon = _clean(fields_raw.get("gpon_serial"), "GPON serial", 40)
	if mac:
		try:
			mac = normalise_mac(mac)
		except InvalidInput:
			raise InvalidInput("The MAC address read on the label ({0}) is not a valid MAC address", mac)
	return LabelScan(
		barcodes=tuple(barcodes),
		serial=check_serial(serial) if serial else "",
		mac=mac,
		gpon_serial=check_gpon_serial(gpon) if gpon else "",
		model=_clean(fields_raw.get("model"), "model", 80),
		manufacturer=_clean(fields_raw.get("manufacturer"), "manufacturer", 80),
	)


def resolve_match(found: Iterable[tuple[str, str, str | None]]) -> tuple[str | None, list[dict]]:
	"""From (kind, value, equipment or None) in lookup order: the one equipment they point
	to and what matched it. Values that point to different equipment are a Conflict (the
	label is ambiguous: a technician decides, not the app)."""
	hits = [
		{"kind": kind, "value": value, "equipment": equipment}
		for kind, value, equipment in found
		if equipment
	]
	names = list(dict.fromkeys(h["equipment"] for h in hits))
	if len(names) > 1:
		detail = ", ".join(f"{h['equipment']} ({h['kind']} {h['value']})" for h in hits)
		raise Conflict("The label matches more than one equipment: {0}", detail)
	return (names[0] if names else None), hits


# -- the photo ---------------------------------------------------------------------

MAX_IMAGE_BYTES = 8 * 1024 * 1024
_MAGIC = (
	(b"\xff\xd8\xff", "image/jpeg"),
	(b"\x89PNG\r\n\x1a\n", "image/png"),
	(b"RIFF", "image/webp"),  # RIFF....WEBP, checked below
)
_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]+)?(?:;[\w=.-]+)*;base64,", re.IGNORECASE)


def decode_image(value: str) -> tuple[bytes, str]:
	"""A photo sent as base64 or as a ``data:image/...;base64,`` URL → (bytes, MIME type).

	JPEG, PNG, WebP and HEIC/HEIF (what phone cameras give) up to 8 MB; anything else is
	InvalidInput, so nothing that is not a photo reaches the vision model.
	"""
	import base64
	import binascii

	if not isinstance(value, str) or not value.strip():
		raise InvalidInput("Send the photo as base64 or as a data URL")
	text = value.strip()
	match = _DATA_URL.match(text)
	if match:
		text = text[match.end() :]
	text = re.sub(r"\s+", "", text)
	if len(text) > (MAX_IMAGE_BYTES * 4) // 3 + 8:
		raise InvalidInput("The photo is larger than {0} MB", MAX_IMAGE_BYTES // (1024 * 1024))
	try:
		text = text.translate(str.maketrans("-_", "+/"))  # URL-safe base64 too
		data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
	except (binascii.Error, ValueError):
		raise InvalidInput("The photo is not valid base64")
	mime = image_type(data)
	if not mime:
		raise InvalidInput("The photo must be a JPEG, PNG, WebP or HEIC image")
	return data, mime


def image_type(data: bytes) -> str | None:
	for magic, mime in _MAGIC:
		if data.startswith(magic):
			if mime == "image/webp" and data[8:12] != b"WEBP":
				return None
			return mime
	if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif"):
		return "image/heic" if data[8:12] in (b"heic", b"heix") else "image/heif"
	return None
