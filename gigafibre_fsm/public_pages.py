"""What the public pages without desk login share (``/c``, ``/q``, ``/t``).

Their scripts are plain JS under ``public/js`` inlined into the page, so a page never
depends on ``bench build`` or on the assets being served: ``page_api.js`` (calls to the
app's methods, the page's languages) first, then the page's own script.
"""

from __future__ import annotations

import functools
import os

import frappe

PUBLIC_JS = os.path.join(os.path.dirname(__file__), "public", "js")


@functools.cache
def _read(name: str) -> str:
	with open(os.path.join(PUBLIC_JS, name), encoding="utf-8") as fh:
		return fh.read()


def script(name: str) -> str:
	"""The text of ``public/js/<name>`` (read once per process, every time in developer mode)."""
	return _read.__wrapped__(name) if frappe.conf.developer_mode else _read(name)


def page_api() -> str:
	"""The shared script every public page inlines before its own."""
	return script("page_api.js")
