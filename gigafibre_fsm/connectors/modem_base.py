"""What the modem bridge's parts share: the objects read, hosts, the session protocols, error mapping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol
from urllib.parse import urlsplit

import requests

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)

SOURCE = "modem"

# DEV2_* objects read from an EX/XX modem: (oid, operation, required).
# The first four are the ones tplinkrouterc6u itself reads; the others follow
# TP-Link's web UI pages (status.htm, wirelessSettings.htm, easyMesh.htm) as seen
# in peer code on sibling firmwares (XGB430v, EX520) and are optional.
DEV2_OBJECTS: tuple[tuple[str, str, bool], ...] = (
	("DEV2_DEV_INFO", "go", True),
	("DEV2_ADT_WAN", "gl", True),
	("DEV2_HOST_ENTRY", "gl", True),
	("DEV2_ADT_LAN", "gl", False),
	("DEV2_OPTC_GPON_CFG", "gl", False),
	("DEV2_WIFI_RADIO", "gl", False),
	("DEV2_WIFI_SSID", "gl", False),
	("DEV2_WIFI_APDEV", "gl", False),
	("DEV2_WIFI_APDEV_RADIO", "gl", False),
	("DEV2_WIFI_APDEV_ASSOCDEV", "gl", False),
)


# ---------------------------------------------------------------------------
# hosts


def parse_host(host: str) -> tuple[str, str]:
	"""(key, base URL) of a modem address: ``"192.168.0.1"`` → ``("192.168.0.1:80", "http://192.168.0.1")``."""
	text = (host or "").strip()
	if not text:
		raise ValueError("a modem host is required")
	if "://" not in text:
		text = "http://" + text
	parts = urlsplit(text)
	if not parts.hostname:
		raise ValueError(f"not a modem address: {host!r}")
	scheme = parts.scheme or "http"
	port = parts.port or (443 if scheme == "https" else 80)
	netloc = parts.netloc.rsplit("@", 1)[-1]
	return f"{parts.hostname}:{port}", f"{scheme}://{netloc}"


# ---------------------------------------------------------------------------
# backends: one admin session on one device


class BridgeSession(Protocol):
	"""A logged-in admin session on one device."""

	def read(self) -> dict:
		"""A reading (see :func:`dev2_reading`): device, wan, optical, radios, ssids, mesh_nodes, clients."""

	def logout(self) -> None:
		"""Log out. Never raises."""


class BridgeBackend(Protocol):
	name: str

	def open(self, base_url: str) -> BridgeSession:
		"""Log in to the device at ``base_url``; raises ConnectorAuthError, ConnectorTimeout, …"""


def _chain(exc: BaseException) -> Iterator[BaseException]:
	seen = set()
	while exc is not None and id(exc) not in seen:
		seen.add(id(exc))
		yield exc
		exc = exc.__cause__ or exc.__context__


def map_client_error(exc: BaseException, what: str, *, timeout: float | None = None) -> ConnectorError:
	"""A typed connector error for what ``tplinkrouterc6u`` or ``requests`` raised.

	The package wraps transport errors in ``ClientException`` (its RSA-key step) and
	signals a refused password only in the message, so the chain and text are read.
	"""
	if isinstance(exc, ConnectorError):
		return exc
	for inner in _chain(exc):
		if isinstance(inner, requests.Timeout):
			return ConnectorTimeout(f"{what}: no answer within {timeout} s", source=SOURCE)
		if isinstance(inner, requests.ConnectionError):
			return ConnectorUnavailable(f"{what}: {inner}", source=SOURCE)
	text = str(exc)
	low = text.lower()
	if "wrong user or password" in low or "wrong password" in low or "login failed, wrong" in low:
		return ConnectorAuthError(f"{what}: the admin password was refused", source=SOURCE)
	if "71235" in text or "another admin" in low or "busy" in low:
		return ConnectorUnavailable(f"{what}: another admin session is open on the device", source=SOURCE)
	return ConnectorResponseError(f"{what}: {type(exc).__name__}: {text[:300]}", source=SOURCE)
