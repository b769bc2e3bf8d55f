"""The per-value rules of the legacy migration (core/legacy/mapping.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from gigafibre_fsm.core.legacy import mapping as m
from gigafibre_fsm.legacy.generate import mojibake

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(
	"code, cycle",
	[(0, "Annual"), (2, "Monthly"), (5, "Semestrial"), ("2", "Monthly"), (3, None), (None, None)],
)
def test_payment_recurrence(code, cycle):
	assert m.recurrence(code) == cycle


def test_service_status_and_actif_until():
	assert m.service_status(1, None, TODAY) == "Actif"  # NULL: permanent
	assert m.service_status(1, date(2027, 1, 1), TODAY) == "Actif"
	assert m.service_status(1, date(2025, 1, 1), TODAY) == "Annulé"  # ended, whatever the status says
	assert m.service_status(0, None, TODAY) == "Annulé"
	assert m.service_status(2, None, TODAY) == "En attente"
	assert m.service_status(7, None, TODAY) == "Annulé"


def test_account_status():
	assert [m.customer_disabled(c) for c in (1, 2, 0, 3, None)] == [0, 0, 1, 1, 1]


@pytest.mark.parametrize(
	"value, expected",
	[
		("0000-00-00", date(2020, 1, 1)),
		(None, date(2020, 1, 1)),
		("2031-03-01", date(2020, 1, 1)),  # a mistyped year lands in the future
		(date(2031, 3, 1), date(2020, 1, 1)),
		("1970-01-01", date(2020, 1, 1)),
		(datetime(2019, 5, 4, 10, 0), date(2019, 5, 4)),
		(date(2019, 5, 4), date(2019, 5, 4)),
		("2019-05-04 10:00:00", date(2019, 5, 4)),
	],
)
def test_zero_and_future_dates(value, expected):
	assert m.legacy_date(value, today=TODAY, fallback=date(2020, 1, 1)) == expected


@pytest.mark.parametrize("text", ["Hélène Côté", "rang Saint-Édouard", "Benoît", "François Bélanger", "Noël"])
def test_mojibake_is_repaired(text):
	assert mojibake(text) != text
	assert m.repair_text(mojibake(text)) == text
	assert m.repair_text(text) == text  # clean text stays as it is


def test_text_blanks():
	assert m.repair_text("  ") is None
	assert m.repair_text(None) is None
	assert m.repair_text(" Roy ") == "Roy"
	assert m.customer_name("", "Jean", "Roy", 4) == "Jean Roy"
	assert m.customer_name(mojibake("Ferme Côté inc."), "Jean", "Roy", 4) == "Ferme Côté inc."
	assert m.customer_name(None, None, "", 4) == "Client 4"


@pytest.mark.parametrize(
	"raw, e164",
	[
		("(450) 555-1234", "+14505551234"),
		("450.555.1234", "+14505551234"),
		("1-514-555-1234", "+15145551234"),
		("4385551234", "+14385551234"),
		("555-1234", "+14505551234"),
		("450 555 1234 poste 12", "+14505551234"),
		("0", None),
		("", None),
		(None, None),
		("123", None),
	],
)
def test_phone(raw, e164):
	assert m.phone(raw) == e164


@pytest.mark.parametrize(
	"raw, clean",
	[
		("  JEAN.ROY@Gmail.com ", "jean.roy@gmail.com"),
		("a@hotmail.com; b@gmail.com", "a@hotmail.com"),
		("aucun", None),
		("x@@sympatico.ca", None),
		("", None),
		(None, None),
	],
)
def test_email(raw, clean):
	assert m.email(raw) == clean


def test_postal_code_and_cents():
	assert m.postal_code("j0l1z0") == "J0L 1Z0"
	assert m.postal_code("J0L 1Z0") == "J0L 1Z0"
	assert m.postal_code("") is None
	assert m.cents(Decimal("-12.34")) == -1234
	assert m.cents("0.10") == 10
	assert m.cents(None) == 0
	assert m.cents("") == 0
	assert (m.cents(Decimal("0.005")), m.cents(Decimal("-0.005")), m.cents(Decimal("2.004"))) == (1, -1, 200)
	assert (m.cents(1.005), m.cents(7), m.cents(Decimal("1E+2"))) == (101, 700, 10000)
	# a Decimal as PyMySQL returns it gives what its text gives
	for n in range(-300, 300, 7):
		value = Decimal(n * 997).scaleb(-3)
		assert m.cents(value) == m.cents(str(value))


@pytest.mark.parametrize(
	"value, kind",
	[("installation", "Installation"), ("Réparation ", "Repair"), ("INSTALLATION", "Installation"),
	 ("reparation", "Repair"), ("entretien", "Maintenance"), ("retrait", "Removal"), ("", "Maintenance"),
	 (None, "Maintenance"), ("autre", "Maintenance")],
)  # fmt: skip
def test_work_order_type(value, kind):
	assert m.work_order_type(value) == kind


def test_work_order_status():
	past, soon = date(2026, 9, 1), date(2026, 12, 20)
	assert m.work_order_status(1, True, past, TODAY) == "Completed"
	assert m.work_order_status(2, False, past, TODAY) == "Cancelled"
	assert m.work_order_status(0, True, soon, TODAY) == "Assigned"
	assert m.work_order_status(0, False, soon, TODAY) == "Draft"  # no technician: for a dispatcher
	assert m.work_order_status(0, True, past, TODAY) == "Draft"  # planned long ago, never closed
	assert m.work_order_status(0, True, date(2026, 11, 20), TODAY) == "Assigned"  # within 30 days
	assert m.work_order_status(0, True, None, TODAY) == "Assigned"
	assert m.work_order_status(7, True, soon, TODAY) == "Cancelled"
	assert m.work_order_status(None, True, soon, TODAY) == "Cancelled"


def test_staff_status():
	assert m.staff_status(1) == "Active"
	assert m.staff_status(0) == "Inactive"
	assert m.staff_status(None) == "Inactive"
