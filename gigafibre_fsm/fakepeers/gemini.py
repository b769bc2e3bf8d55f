"""Fake peer speaking the Gemini API's ``models.generateContent`` (REST, v1beta).

This is a test double, not Gemini: it reads no image. It answers the way the Gemini
API reference (ai.google.dev/api/generate-content) documents the method:
``POST /v1beta/models/{model}:generateContent`` with the key in ``x-goog-api-key``, a
JSON body ``{"contents": [{"role", "parts": [{"inlineData": {"mimeType", "data"}},
{"text"}]}], "generationConfig": {"responseMimeType", "responseSchema", ...}}`` →
200 and a GenerateContentResponse ``{"candidates": [{"content": {"parts": [{"text"}],
"role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {...},
"modelVersion", "responseId"}``. Proto JSON rules apply: field names in lowerCamelCase or
snake_case (the SDK sends ``max_items``), bytes in standard or URL-safe base64. Errors use Google's error body ``{"error": {"code",
"message", "status", "details"}}``: a missing key → 403 PERMISSION_DENIED, a wrong key
→ 400 INVALID_ARGUMENT with reason API_KEY_INVALID, a body that is not a request → 400.

Tests say what the "model" reads: ``add_label(image_bytes, answer)`` registers the JSON
answer (a dict, or raw text for malformed answers) for one photo; an unknown photo gets
an empty label (``default``). ``delay`` makes every answer late (timeouts); ``fail_next`` queues canned
responses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading

from gigafibre_fsm.fakepeers.http import FakePeer, Response

EMPTY_LABEL = {"barcodes": [], "fields": {}}


def _error(status: int, state: str, message: str, reason: str | None = None) -> Response:
	details = (
		[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}]
		if reason
		else []
	)
	return Response.json(
		{"error": {"code": status, "message": message, "status": state, "details": details}}, status=status
	)


class FakeGemini(FakePeer):
	def __init__(self, api_key: str = "test-gemini-key", delay: float = 0.0):
		self.api_key = api_key
		self.delay = delay
		self.labels: dict[str, dict | str] = {}
		self.default: dict | str = EMPTY_LABEL  # the answer for a photo not registered
		self.fail_next: list[Response] = []
		self.calls: list[dict] = []  # the accepted requests' bodies
		self._calls_lock = threading.Lock()
		super().__init__()

	def add_label(self, image: bytes, answer: dict | str) -> None:
		self.labels[hashlib.sha256(image).hexdigest()] = answer

	def setup_routes(self):
		@self.route("POST", r"/v1beta/models/(?P<model>[\w.\-]+):generateContent")
		def generate(request, model):
			key = request.headers.get("x-goog-api-key") or (request.query.get("key") or [""])[0]
			if not key:
				return _error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
			if key != self.api_key:
				return _error(
					400,
					"INVALID_ARGUMENT",
					"API key not valid. Please pass a valid API key.",
					"API_KEY_INVALID",
				)
			if self.fail_next:
				return self.fail_next.pop(0)
			try:
				body = request.json()
				parts = body["contents"][0]["parts"]
				config = body.get("generationConfig") or {}
				inline = next(p["inlineData"] for p in parts if "inlineData" in p)
				# bytes fields in proto JSON: standard or URL-safe base64 (the SDK sends URL-safe)
				image = base64.b64decode(inline["data"].translate(str.maketrans("-_", "+/")), validate=True)
				if not inline.get("mimeType", "").startswith("image/"):
					raise ValueError("mimeType")
			except (ValueError, KeyError, TypeError, StopIteration, IndexError):
				return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
			if config.get("responseSchema") and config.get("responseMimeType") != "application/json":
				return _error(
					400, "INVALID_ARGUMENT", "responseSchema requires responseMimeType application/json"
				)
			with self._calls_lock:
				self.calls.append(body)
			answer = self.labels.get(hashlib.sha256(image).hexdigest(), self.default)
			text = answer if isinstance(answer, str) else json.dumps(answer)
			payload = {
				"candidates": [
					{
						"content": {"parts": [{"text": text}], "role": "model"},
						"finishReason": "STOP",
						"index": 0,
					}
				],
				"usageMetadata": {
					"promptTokenCount": 270,
					"candidatesTokenCount": max(1, len(text) // 4),
					"totalTokenCount": 270 + max(1, len(text) // 4),
				},
				"modelVersion": model,
				"responseId": secrets.token_urlsafe(12),
			}
			return Response.json(payload, delay=self.delay)
