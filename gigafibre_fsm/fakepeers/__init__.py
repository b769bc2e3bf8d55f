"""Fake peers: local HTTP servers that speak an outside system's documented API.

Used by the pure tests (tests/), the Frappe integration tests and the
benchmarks, so they live in the package. No frappe import (import-linter).
Nothing here runs in production.
"""
