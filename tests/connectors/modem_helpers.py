"""Shared by the modem bridge tests (test_modem_bridge, test_modem_browser, test_modem_sessions,
test_modem_leases): settings, a hand-driven clock and the system Chromium for the browser bridge."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from gigafibre_fsm.connectors.modem_bridge import ModemBridge
from gigafibre_fsm.connectors.modem_browser import BrowserBackend
from gigafibre_fsm.core.settings import ModemBridgeSettings

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CHROMIUM = os.environ.get("GIGAFIBRE_CHROMIUM", "/usr/bin/chromium")


class Clock:
	"""Injectable monotonic clock, advanced by hand."""

	def __init__(self):
		self.t = 1000.0

	def __call__(self) -> float:
		return self.t

	def advance(self, seconds: float) -> None:
		self.t += seconds


def settings(**kw) -> ModemBridgeSettings:
	values = dict(enabled=True, username="user", password="secret", timeout=3.0, idle_seconds=60)
	values.update(kw)
	return ModemBridgeSettings(**values)


def require_chromium() -> None:
	problem = None
	if not os.access(CHROMIUM, os.X_OK):
		problem = f"no Chromium at {CHROMIUM} for the browser bridge test (apt-get install chromium)"
	else:
		try:
			import playwright.sync_api  # noqa: F401
		except ImportError as e:
			problem = f"playwright is not installed: {e}"
	if problem:
		if os.environ.get("GIGAFIBRE_REQUIRE_SERVICES") == "1":
			pytest.fail(problem)
		pytest.skip(problem)


def browser_bridge(**kw) -> ModemBridge:
	s = settings(**{"chromium_path": CHROMIUM, **kw})
	return ModemBridge(s, kinds={"tplink_ex": [BrowserBackend(s)]}, now=lambda: NOW)


def gated_chromium(tmp_path) -> tuple[str, object, object]:
	"""(path, gate, launches): a Chromium launcher that waits until the file ``gate`` exists,
	then runs the system Chromium: its start takes exactly as long as the test wants.
	Every launch appends a line to ``launches``."""
	gate, launches, script = tmp_path / "gate", tmp_path / "launches", tmp_path / "chromium"
	script.write_text(
		"#!/bin/sh\n"
		f"echo launched >> '{launches}'\n"
		"i=0\n"
		f"while [ ! -e '{gate}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n"
		f"exec '{CHROMIUM}' \"$@\"\n"
	)
	script.chmod(0o755)
	return str(script), gate, launches


def launch_count(launches) -> int:
	return len(launches.read_text().splitlines()) if launches.exists() else 0
