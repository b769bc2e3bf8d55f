"""The modem bridge's direct clients: TP-Link EX/XX and Deco local web APIs through ``tplinkrouterc6u``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from json import dumps

from gigafibre_fsm.connectors.errors import (
	ConnectorError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.modem_base import DEV2_OBJECTS, SOURCE, map_client_error
from gigafibre_fsm.core.diagnostics.tplink import deco_reading, dev2_reading
from gigafibre_fsm.core.settings import ModemBridgeSettings


class _EXSession:
	"""A logged-in tplinkrouterc6u EX client."""

	def __init__(self, client, *, clock: Callable[[], float], deadline: float, objects=DEV2_OBJECTS):
		self.client = client
		self.clock = clock
		self.deadline = deadline
		self.objects = objects

	def fetch(self, oid: str, operation: str):
		act = self.client.ActItem(operation, oid)
		_, values = self.client.req_act([act])
		return values[0] if values else None

	def read(self) -> dict:
		started = self.clock()
		objects: dict[str, object] = {}
		for oid, operation, required in self.objects:
			if self.clock() - started > self.deadline:
				raise ConnectorTimeout(
					f"modem read took longer than {self.deadline} s (at {oid})", source=SOURCE
				)
			try:
				value = self.fetch(oid, operation)
			except Exception as e:
				mapped = map_client_error(e, f"DEV2 object {oid}", timeout=self.client.timeout)
				if required or isinstance(mapped, ConnectorTimeout | ConnectorUnavailable):
					raise mapped from e
				value = None
			if value is None and required:
				raise ConnectorResponseError(f"the modem answered no data for {oid}", source=SOURCE)
			objects[oid] = value
		return dev2_reading(objects)

	def logout(self) -> None:
		try:
			self.client.logout()
		except Exception:
			pass
		finally:
			try:
				self.client.req.close()
			except Exception:
				pass


class DirectEXBackend:
	"""TP-Link EX-series / XX230v through ``tplinkrouterc6u``'s EX clients (encrypted ``/cgi_gdpr``).

	``variants`` are tried in order until one logs in; the one that worked is kept
	per host. A refused password stops at once (no retry that would count toward
	the device's lock-out). ``username``: EX firmwares with a password-only login
	use the hidden user ``user`` (the package's default); ISP firmwares may use ``admin``.
	"""

	name = "direct"
	VARIANTS = ("gcm", "cbc", "gcm-oaep")

	def __init__(
		self,
		settings: ModemBridgeSettings,
		*,
		variants: Sequence[str] = VARIANTS,
		clock: Callable[[], float] = time.monotonic,
		objects=DEV2_OBJECTS,
	):
		self.settings = settings
		self.variants = tuple(variants)
		self.clock = clock
		self.objects = objects
		self._known: dict[str, str] = {}
		self._lock = threading.Lock()

	@staticmethod
	def client_class(variant: str):
		from tplinkrouterc6u.client.ex import TPLinkEXClient, TPLinkEXClientGCM, TPLinkEXClientGCMOAEP

		return {"cbc": TPLinkEXClient, "gcm": TPLinkEXClientGCM, "gcm-oaep": TPLinkEXClientGCMOAEP}[variant]

	def open(self, base_url: str) -> _EXSession:
		with self._lock:
			known = self._known.get(base_url)
		order = (known, *(v for v in self.variants if v != known)) if known else self.variants
		last: ConnectorError | None = None
		timeout = float(self.settings.timeout)
		for variant in order:
			client = self.client_class(variant)(
				base_url,
				self.settings.password,
				self.settings.username or "user",
				verify_ssl=False,
				timeout=timeout,
			)
			# the package keeps HEADERS (with TokenID) on the class: give each client its own
			client.HEADERS = dict(client.HEADERS)
			try:
				client.authorize()
			except Exception as e:
				mapped = map_client_error(e, f"login to {base_url} ({variant})", timeout=timeout)
				_close_quietly(client)
				if not isinstance(mapped, ConnectorResponseError):
					raise mapped from e
				last = mapped  # this cipher family is not the firmware's: try the next
				continue
			with self._lock:
				self._known[base_url] = variant
			return _EXSession(client, clock=self.clock, deadline=timeout * 3, objects=self.objects)
		raise last or ConnectorResponseError(f"no client variant for {base_url}", source=SOURCE)


def _close_quietly(client) -> None:
	try:
		client.req.close()
	except Exception:
		pass


class _DecoSession:
	def __init__(self, client, timeout: float):
		self.client = client
		self.timeout = timeout

	def _request(self, path: str, payload: dict):
		try:
			return self.client.request(path, dumps(payload)) or {}
		except Exception as e:
			raise map_client_error(e, f"Deco {path}", timeout=self.timeout) from e

	def read(self) -> dict:
		devices = (
			self._request("admin/device?form=device_list", {"operation": "read"}).get("device_list") or []
		)
		wan = self._request("admin/network?form=wan_ipv4", {"operation": "read"})
		try:
			wlan = self._request("admin/wireless?form=wlan", {"operation": "read"})
		except ConnectorResponseError:
			wlan = {}
		clients: dict[str, list] = {}
		for node in devices:
			mac = node.get("mac")
			if not mac:
				continue
			answer = self._request(
				"admin/client?form=client_list", {"operation": "read", "params": {"device_mac": mac}}
			)
			clients[mac] = answer.get("client_list") or []
		return deco_reading(devices, wan, wlan, clients)

	def logout(self) -> None:
		try:
			self.client.logout()
		except Exception:
			pass


class DecoBackend:
	"""Deco XE75 (and other Deco) through ``tplinkrouterc6u``'s ``TPLinkDecoClient``."""

	name = "deco"

	def __init__(self, settings: ModemBridgeSettings, *, client_factory: Callable | None = None):
		self.settings = settings
		self.client_factory = client_factory

	def open(self, base_url: str) -> _DecoSession:
		timeout = float(self.settings.timeout)
		if self.client_factory is None:
			from tplinkrouterc6u.client.deco import TPLinkDecoClient

			factory = TPLinkDecoClient
		else:
			factory = self.client_factory
		client = factory(
			base_url,
			self.settings.password,
			self.settings.username or "admin",
			verify_ssl=False,
			timeout=timeout,
		)
		try:
			client.authorize()
		except Exception as e:
			raise map_client_error(e, f"Deco login to {base_url}", timeout=timeout) from e
		return _DecoSession(client, timeout)
