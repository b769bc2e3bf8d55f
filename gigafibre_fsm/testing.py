"""Test base classes across Frappe versions.

Frappe v16 has ``frappe.tests.IntegrationTestCase`` / ``UnitTestCase``; v15 only
``frappe.tests.utils.FrappeTestCase``. Tests import the base classes from here.
"""

from __future__ import annotations

try:  # Frappe v16+
	from frappe.tests import IntegrationTestCase, UnitTestCase
except ImportError:  # Frappe v15
	from frappe.tests.utils import FrappeTestCase as IntegrationTestCase

	UnitTestCase = IntegrationTestCase

__all__ = ["IntegrationTestCase", "UnitTestCase"]
