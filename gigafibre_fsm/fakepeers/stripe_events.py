"""The fake Stripe's events and webhooks (a mixin of gigafibre_fsm.fakepeers.stripe.FakeStripe): events
recorded as Stripe creates them, delivered to ``webhook_url`` as an API request answers, and signed
webhook deliveries (https://docs.stripe.com/webhooks#verify-manually)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

import requests

from gigafibre_fsm.fakepeers.http import Request

API_VERSION = "2026-10-28.endive"  # what the stripe SDK this app pins sends
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
SIGNATURE_HEADER = "Stripe-Signature"


@dataclass
class Delivery:
	event_id: str
	url: str
	attempts: list[dict] = field(default_factory=list)  # {"status", "timestamp", "signature"}


class EventsMixin:
	"""Events, their delivery to ``webhook_url`` and signed webhooks (see the module's docstring)."""

	# -- events

	def _event(self, type_: str, obj: dict, request: Request | None = None) -> dict:
		event = {
			"id": self._id("evt"),
			"object": "event",
			"api_version": API_VERSION,
			"created": int(time.time()),
			"data": {"object": json.loads(json.dumps(obj))},  # a snapshot
			"livemode": False,
			"pending_webhooks": 1,
			"request": {
				"id": None,
				"idempotency_key": request.headers.get("idempotency-key") if request else None,
			},
			"type": type_,
		}
		self.events[event["id"]] = event
		if self.webhook_url:
			self._outbox.append(event["id"])
		return event

	def deliver_pending(self) -> list[int]:
		"""Deliver the events made since the last call to ``webhook_url`` (as Stripe sends them,
		in creation order). The API routes call it after answering work and releasing the lock, so
		the receiver may call the fake back; test controls leave their events for the caller."""
		with self._data_lock:
			pending, self._outbox = self._outbox, []
		return [self.deliver(event_id, self.webhook_url) for event_id in pending if self.webhook_url]

	def events_of(self, type_: str) -> list[dict]:
		with self._data_lock:
			return [e for e in self.events.values() if e["type"] == type_]

	# -- webhooks

	def signed(
		self, event_id: str, timestamp: int | None = None, secret: str | None = None
	) -> tuple[bytes, str]:
		"""(body, Stripe-Signature header) of ``event_id`` signed at ``timestamp`` (default: now)."""
		body = json.dumps(self.events[event_id], indent=2).encode()
		ts = int(time.time()) if timestamp is None else int(timestamp)
		mac = hmac.new((secret or self.webhook_secret).encode(), f"{ts}.".encode() + body, hashlib.sha256)
		return body, f"t={ts},v1={mac.hexdigest()}"

	def deliver(self, event_id: str, url: str, *, timestamp: int | None = None, timeout: float = 5.0) -> int:
		"""POST the event to ``url`` as a Stripe webhook; returns the receiver's status code."""
		body, signature = self.signed(event_id, timestamp)
		headers = {
			"Content-Type": "application/json; charset=utf-8",
			"User-Agent": USER_AGENT,
			SIGNATURE_HEADER: signature,
			"Cache-Control": "no-cache",
		}
		delivery = next((d for d in self.deliveries if d.event_id == event_id and d.url == url), None)
		if delivery is None:
			delivery = Delivery(event_id, url)
			self.deliveries.append(delivery)
		try:
			status = requests.post(url, data=body, headers=headers, timeout=timeout).status_code
		except requests.RequestException:
			status = 0
		delivery.attempts.append({"status": status, "signature": signature})
		return status

	def resend(self, event_id: str, url: str | None = None) -> int:
		"""Deliver the event again (a Stripe retry): same event, new timestamp and signature."""
		previous = [d for d in self.deliveries if d.event_id == event_id]
		if not previous and url is None:
			raise ValueError(f"event {event_id} was never delivered")
		return self.deliver(event_id, url or previous[-1].url)
