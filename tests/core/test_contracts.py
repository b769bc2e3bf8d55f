from datetime import date
from decimal import Decimal

import pytest

from gigafibre_fsm.core.contracts import (
	add_months,
	benefit_amount,
	check_subscription,
	contract_end_date,
)
from gigafibre_fsm.core.errors import InvalidInput


def test_add_months_clamps_to_month_end():
	assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
	assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
	assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)


def test_contract_end_is_the_day_before_the_anniversary():
	assert contract_end_date(date(2026, 3, 1), 24) == date(2028, 2, 29)
	assert contract_end_date(date(2026, 1, 15), 12) == date(2027, 1, 14)
	assert contract_end_date(None, 24) is None
	with pytest.raises(InvalidInput):
		contract_end_date(date(2026, 1, 1), -1)


def test_benefit_amount():
	assert benefit_amount(99.95, 0) == Decimal("99.95")
	assert benefit_amount("39.95", "29.95") == Decimal("10.00")
	with pytest.raises(InvalidInput, match="cannot exceed"):
		benefit_amount(10, 20)


def test_subscription_status_and_dates_agree():
	check_subscription("En attente", None, None, None)
	check_subscription("Actif", date(2026, 1, 1), None, None)
	check_subscription("Annulé", date(2026, 1, 1), None, date(2026, 6, 1))
	with pytest.raises(InvalidInput, match="start date"):
		check_subscription("Actif", None, None, None)
	with pytest.raises(InvalidInput, match="cancellation date"):
		check_subscription("Annulé", date(2026, 1, 1), None, None)
	with pytest.raises(InvalidInput, match="cannot be before"):
		check_subscription("Actif", date(2026, 5, 1), date(2026, 4, 1), None)
	with pytest.raises(InvalidInput, match="Unknown"):
		check_subscription("Active", None, None, None)
