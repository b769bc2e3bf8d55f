"""The vision model that reads equipment labels: Gemini (``generateContent``) through
Google's ``google-genai`` SDK.

One call per photo: the image as inline data, a short instruction
(``core.vision.LABEL_PROMPT``) and a JSON response schema (``core.vision.LABEL_SCHEMA``,
sent as ``generationConfig.responseSchema`` with ``responseMimeType`` JSON). The SDK
posts to ``{api_base}/v1beta/models/{model}:generateContent`` with the key in
``x-goog-api-key``; ``api_base`` comes from settings (``HttpOptions.base_url``), so tests
point it at a fake peer on loopback (gigafibre_fsm.fakepeers.gemini). The SDK's own
retries are off (one attempt); ``settings.timeout`` (8 s) is the HTTP timeout
(``HttpOptions.timeout``, in milliseconds).

Errors are typed: VisionTimeout (no answer in time), ConnectorAuthError (key refused),
ConnectorUnavailable (not configured, unreachable), ConnectorResponseError (an HTTP
error, a blocked or empty answer) and VisionMalformed (an answer that is not a label
under the schema: the message says what was wrong; nothing is guessed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.core.settings import VisionSettings
from gigafibre_fsm.core.vision import LABEL_PROMPT, LABEL_SCHEMA, LabelScan, validate_label

SOURCE = "vision"


class VisionTimeout(ConnectorTimeout):
	"""The model did not answer within the timeout."""

	source = SOURCE


class VisionMalformed(ConnectorResponseError):
	"""The model answered something that is not a label under the schema."""

	source = SOURCE

	def __init__(self, error: InvalidInput):
		super().__init__(str(error), source=SOURCE)
		self.error = error


@dataclass(frozen=True)
class LabelReading:
	scan: LabelScan
	model: str
	elapsed_ms: int
	raw: str  # the model's JSON text, kept for the record


def client_for(settings: VisionSettings) -> genai.Client:
	if not settings.configured:
		raise ConnectorUnavailable("the vision model is not configured (API key)", source=SOURCE)
	return genai.Client(
		api_key=settings.api_key,
		http_options=types.HttpOptions(
			base_url=settings.api_base + "/",
			timeout=int(settings.timeout * 1000),
			retry_options=types.HttpRetryOptions(attempts=1),
		),
	)


def read_label(
	settings: VisionSettings, image: bytes, mime_type: str, *, client: genai.Client | None = None
) -> LabelReading:
	"""Ask the model to read the label in ``image``; a checked LabelScan or a typed error."""
	client = client or client_for(settings)
	config = types.GenerateContentConfig(
		response_mime_type="application/json",
		response_schema=LABEL_SCHEMA,
		temperature=0,
		candidate_count=1,
	)
	started = time.monotonic()
	try:
		response = client.models.generate_content(
			model=settings.model,
			contents=[types.Part.from_bytes(data=image, mime_type=mime_type), LABEL_PROMPT],
			config=config,
		)
	except httpx.TimeoutException:
		raise VisionTimeout(f"no answer within {settings.timeout:g} s", source=SOURCE)
	except httpx.HTTPError as e:
		raise ConnectorUnavailable(f"cannot reach the vision model: {type(e).__name__}", source=SOURCE)
	except genai_errors.APIError as e:
		if e.code in (401, 403) or "API_KEY_INVALID" in str(e.details):
			raise ConnectorAuthError(f"the API key was refused ({e.code})", source=SOURCE, status=e.code)
		if e.code in (408, 504):
			raise VisionTimeout(f"the model timed out ({e.code})", source=SOURCE, status=e.code)
		raise ConnectorResponseError(
			f"{e.code} {e.status or ''} {str(e.message or '')[:200]}".strip(), source=SOURCE, status=e.code
		)
	elapsed = int((time.monotonic() - started) * 1000)
	text = _answer_text(response)
	try:
		scan = validate_label(text)
	except InvalidInput as e:
		raise VisionMalformed(e)
	return LabelReading(scan=scan, model=settings.model, elapsed_ms=elapsed, raw=text[:4000])


def _answer_text(response) -> str:
	"""The first candidate's text, or ConnectorResponseError saying why there is none."""
	feedback = getattr(response, "prompt_feedback", None)
	if feedback is not None and getattr(feedback, "block_reason", None):
		raise ConnectorResponseError(f"the photo was refused ({feedback.block_reason})", source=SOURCE)
	candidates = response.candidates or []
	if not candidates:
		raise ConnectorResponseError("the model gave no answer", source=SOURCE)
	parts = (candidates[0].content.parts if candidates[0].content else None) or []
	text = "".join(p.text for p in parts if getattr(p, "text", None))
	if not text:
		reason = getattr(candidates[0], "finish_reason", None)
		raise ConnectorResponseError(f"the model gave an empty answer ({reason})", source=SOURCE)
	return text
