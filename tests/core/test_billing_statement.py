"""The printed invoice's statement, line keys explained in words, money and dates in FR/EN."""

from datetime import date, datetime
from decimal import Decimal

from gigafibre_fsm.core.billing import line_key
from gigafibre_fsm.core.billing.periods import Period, period_for
from gigafibre_fsm.core.billing.statement import (
	T_CANCELLED,
	T_CHANGE,
	T_FREE_DAY,
	T_PRORATED,
	T_WHOLE,
	LedgerRow,
	covered,
	explain,
	format_date,
	format_money,
	language,
	parse_key,
	statement,
)

D = Decimal


def row(day, minute, vtype, voucher, amount):
	return LedgerRow(date(2026, *day), datetime(2026, *day, 10, minute), vtype, voucher, D(str(amount)))


def test_money_and_dates_in_both_languages():
	assert format_money(D("1234.5"), "fr") == "1\u202f234,50\u00a0$"
	assert format_money(D("-9.3217"), "fr") == "-9,32\u00a0$"
	assert format_money(1234.5, "en") == "$1,234.50"
	assert format_money(D("-0.005"), "en") == "-$0.01"
	assert format_money(5, "en", symbol=False) == "5.00"
	assert format_date(date(2026, 12, 1), "fr") == "1er décembre 2026"
	assert format_date(date(2026, 8, 15), "fr-CA") == "15 août 2026"
	assert format_date(date(2026, 12, 1), "en-US") == "December 1, 2026"
	assert format_date(None, "en") == ""
	assert [language(x) for x in ("en", "en-CA", "fr", "fr-CA", None, "")] == [
		"en",
		"en",
		"fr",
		"fr",
		"fr",
		"fr",
	]


def test_keys_of_the_billing_run_are_read_back():
	key = line_key("SUB-00001", date(2026, 12, 25), date(2026, 12, 31))
	parts = parse_key(key)
	assert (parts.subscription, parts.first, parts.last, parts.kind, parts.days) == (
		"SUB-00001",
		date(2026, 12, 25),
		date(2026, 12, 31),
		"charge",
		7,
	)
	assert parse_key(line_key("S", date(2026, 1, 10), date(2026, 1, 31), "cancel")).kind == "cancel"
	change = parse_key(line_key("S", date(2026, 1, 10), date(2026, 1, 31), "change-20260110"))
	assert (change.kind, change.changed_on) == ("change", date(2026, 1, 10))
	assert parse_key("credit:REF-00001:0").kind == "credit"
	for bad in (
		None,
		"",
		"hand typed",
		"S:20261301:20261231",
		"S:20261231:20261201",
		"S:20260101:20260131:x",
	):
		assert parse_key(bad) is None


def test_explanations_say_why_a_line_is_prorated():
	period = period_for("Monthly", 1, date(2026, 12, 25))
	whole = parse_key(line_key("S", date(2026, 12, 1), date(2026, 12, 31)))
	(line,) = explain(whole, period, "fr")
	assert (line.template, line.params) == (T_WHOLE, ("1er décembre 2026", "31 décembre 2026"))

	part = parse_key(line_key("S", date(2026, 12, 25), date(2026, 12, 31)))
	first, free = explain(part, period, "en", first_day_charged=date(2026, 12, 25))
	assert first.template == T_PRORATED
	assert first.params == (
		7,
		31,
		"December 25, 2026",
		"December 31, 2026",
		"December 1, 2026",
		"December 31, 2026",
	)
	assert free.template == T_FREE_DAY
	assert len(explain(part, period, "en", first_day_charged=date(2026, 12, 2))) == 1

	cancel = parse_key(line_key("S", date(2027, 1, 16), date(2027, 1, 31), "cancel"))
	(line,) = explain(cancel, period_for("Monthly", 1, date(2027, 1, 16)), "en")
	assert line.template == T_CANCELLED
	assert line.params == (16, 31, "January 16, 2027", "January 31, 2027", "January 15, 2027")

	change = parse_key(line_key("S", date(2027, 1, 10), date(2027, 1, 31), "change-20270110"))
	(line,) = explain(change, None, "fr")
	assert line.template == T_CHANGE and line.params[:3] == ("10 janvier 2027", 22, 22)
	# an annual period billed on the 15th
	annual = Period(date(2026, 3, 15), date(2027, 3, 14))
	(line,) = explain(parse_key(line_key("S", date(2026, 3, 15), date(2027, 3, 14))), annual, "en")
	assert line.template == T_WHOLE


def test_covered_spans_the_charges_only():
	keys = [
		parse_key(line_key("A", date(2026, 12, 1), date(2026, 12, 31))),
		parse_key(line_key("B", date(2026, 12, 10), date(2027, 6, 9))),
		parse_key(line_key("C", date(2026, 11, 1), date(2026, 11, 30), "cancel")),
		parse_key("credit:R:0"),
		None,
	]
	assert covered(keys) == (date(2026, 12, 1), date(2027, 6, 9))
	assert covered([None]) is None


def test_statement_from_the_ledger():
	rows = [
		row((11, 1), 0, "Sales Invoice", "SI-1", "45.93"),  # before the previous invoice
		row((11, 20), 0, "Payment Entry", "PE-1", "-45.93"),
		row((12, 1), 0, "Sales Invoice", "SI-2", "45.93"),  # the previous invoice
		row((12, 1), 5, "Payment Entry", "PE-2", "-20.00"),  # same day, after it
		row((12, 10), 0, "Journal Entry", "JV-1", "5.00"),  # a refund
		row((12, 15), 0, "Sales Invoice", "CN-1", "-10.00"),  # a credit note
		row((1, 1), 0, "Sales Invoice", "SI-3", "45.93"),  # this invoice: ignored, its total is used
		row((1, 1), 1, "Payment Entry", "PE-3", "-45.93"),  # after this invoice: left out
	]
	rows[-2] = LedgerRow(date(2027, 1, 1), datetime(2027, 1, 1, 10), "Sales Invoice", "SI-3", D("45.93"))
	rows[-1] = LedgerRow(date(2027, 1, 1), datetime(2027, 1, 1, 11), "Payment Entry", "PE-3", D("-45.93"))
	s = statement(
		rows, "SI-3", "45.93", (date(2027, 1, 1), datetime(2027, 1, 1, 10)), ["SI-1", "SI-2", "SI-3"]
	)
	assert s.previous_invoice == "SI-2"
	assert (s.previous_balance, s.payments, s.adjustments) == (D("45.93"), D("15.00"), D("-10.00"))
	assert s.amount_due == D("45.93") - D("15.00") - D("10.00") + D("45.93") == D("66.86")
	assert s.as_dict()["amount_due"] == "66.86"


def test_statement_of_a_first_invoice_and_a_draft():
	prepaid = [row((12, 1), 0, "Payment Entry", "PE-1", "-100")]
	first = statement(prepaid, "SI-1", "45.93", (date(2026, 12, 2), datetime.max), [])
	assert (first.previous_invoice, first.previous_balance, first.payments) == (None, D("0"), D("100.00"))
	assert first.amount_due == D("-54.07")  # a credit in the customer's favour
	# two entries of one voucher count once in time, by their first row
	split = [
		row((12, 1), 0, "Sales Invoice", "SI-1", "30"),
		row((12, 1), 9, "Sales Invoice", "SI-1", "15.93"),
	]
	s = statement(split, "SI-2", "-5", (date(2026, 12, 1), datetime(2026, 12, 1, 10, 5)), ["SI-1"])
	assert (s.previous_invoice, s.previous_balance, s.amount_due) == ("SI-1", D("45.93"), D("40.93"))
