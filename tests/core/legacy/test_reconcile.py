"""Credit-note matching, reversements, duplicate Stripe payments and balances
(core/legacy/reconcile.py), by hand and on a small generated legacy database (local MariaDB)."""

from __future__ import annotations

from datetime import date

import pytest

from gigafibre_fsm.connectors.legacy_source import money_facts
from gigafibre_fsm.core.legacy.reconcile import (
	CreditNote,
	Invoice,
	Payment,
	duplicate_stripe_payments,
	is_reversement,
	legacy_balances,
	match_credit_notes,
)
from gigafibre_fsm.legacy.generate import create_database, generate

TODAY = date(2026, 12, 6)
D = date.fromisoformat


def test_reversement_detection():
	assert is_reversement("reversement")
	assert is_reversement(" Réversement ")
	assert is_reversement("", "Reversement - annulation facture 12")
	assert not is_reversement("cheque", "reversement demandé par le client")  # a real cheque stays money
	assert not is_reversement("stripe")


def test_duplicate_stripe_keeps_the_first_of_a_reference():
	pays = [
		Payment(1, 7, 5000, "stripe", stripe_ref="pi_A"),
		Payment(2, 7, 5000, "stripe", stripe_ref="pi_A"),
		Payment(3, 7, 5000, "stripe", stripe_ref="pi_B"),
		Payment(4, 8, 900, "stripe", stripe_ref="pi_C"),
		Payment(5, 8, 1200, "stripe", stripe_ref="pi_C"),  # different amounts: left for a person
		Payment(6, 9, 100, "cheque", stripe_ref=""),
		Payment(7, 9, 100, "cheque", stripe_ref=""),
	]
	assert duplicate_stripe_payments(pays) == {2: 1}


def test_matching_prefers_strong_evidence_and_the_closest_invoice():
	invoices = [
		Invoice(1, 5, D("2020-01-01"), 6899, (3000, 3000)),
		Invoice(2, 5, D("2020-02-01"), 6899, (3000, 3000)),
		Invoice(3, 5, D("2020-03-01"), 6899, (3000, 3000)),
		Invoice(4, 6, D("2020-02-01"), 6899),
		Invoice(5, 5, D("2018-01-01"), 1150),
	]
	credits = [
		CreditNote(10, 5, D("2020-03-15"), -6899, -6000),  # closest same total: 3 ... unless evidence
		CreditNote(11, 5, D("2020-03-20"), -6899, -6000, credit_of=1),
		CreditNote(12, 5, D("2020-03-21"), -3449, -3000),  # one line of an invoice
		CreditNote(13, 5, D("2020-03-22"), -1150, -1000),  # invoice 5 is outside the window
		CreditNote(14, 6, D("2020-01-15"), -6899, -6000),  # invoice 4 is after the credit note
	]
	payments = [
		Payment(20, 5, 6899, "reversement", allocations=((2, 6899),)),
		Payment(21, 5, 6899, "visa", allocations=((3, 6899),)),
	]
	report = match_credit_notes(credits, invoices, payments)
	assert report.links == {11: 1, 10: 2, 12: 3}
	assert report.method == {11: "named", 10: "reversement", 12: "line"}
	assert report.unmatched == [14, 13]
	assert report.counts()["unmatched"] == 2


def test_matching_by_outstanding_then_total():
	invoices = [Invoice(1, 5, D("2020-01-01"), 1000), Invoice(2, 5, D("2020-02-01"), 1000)]
	payments = [Payment(9, 5, 1000, "cheque", allocations=((2, 1000),))]
	report = match_credit_notes([CreditNote(3, 5, D("2020-02-10"), -1000, -870)], invoices, payments)
	assert report.links == {3: 1}  # invoice 2 is paid: the unpaid one was cancelled
	assert report.method == {3: "outstanding"}
	both_paid = [*payments, Payment(10, 5, 1000, "cheque", allocations=((1, 1000),))]
	report = match_credit_notes([CreditNote(3, 5, D("2020-02-10"), -1000, -870)], invoices, both_paid)
	assert report.links == {3: 2} and report.method == {3: "total"}


def test_balances_leave_out_reversements_and_duplicates():
	payments = [
		Payment(1, 5, 1000, "cheque"),
		Payment(2, 5, 2000, "reversement"),
		Payment(3, 5, 500, "stripe", stripe_ref="pi_X"),
		Payment(4, 5, 500, "stripe", stripe_ref="pi_X"),
	]
	balances, excluded = legacy_balances([(5, 2000), (5, 2000), (5, -2000), (6, 300)], payments)
	assert balances == {5: 2000 - 1000 - 500, 6: 300}
	assert excluded == {"reversements": 1, "reversement_cents": 2000, "duplicates": 1, "duplicate_cents": 500}


@pytest.fixture
def generated(mariadb_conn):
	with mariadb_conn.cursor() as cur:
		cur.execute("SELECT DATABASE()")
		database = cur.fetchone()[0]
	create_database(mariadb_conn, database)
	report = generate(mariadb_conn, seed=7, scale=0.004)
	return mariadb_conn, report


def test_generated_database_has_every_problem_and_the_rules_find_them(generated):
	conn, report = generated
	planted, counts = report["planted"], report["counts"]
	assert counts["account"] == round(15_303 * 0.004)
	assert counts["service"] == round(66_879 * 0.004)
	assert abs(counts["invoice"] - 630_000 * 0.004) / (630_000 * 0.004) < 0.03
	assert abs(counts["payment"] - 541_000 * 0.004) / (541_000 * 0.004) < 0.1
	for key in ("accounts_without_address", "credit_notes", "reversements", "duplicate_stripe", "zero_dates",
		"future_dates", "mojibake_accounts", "credit_notes_partial", "credit_notes_named"):  # fmt: skip
		assert planted[key] >= 1, key
	with conn.cursor() as cur:
		cur.execute(
			"SELECT COUNT(*) FROM account a WHERE NOT EXISTS (SELECT 1 FROM delivery d WHERE d.account_id = a.id)"
		)
		assert cur.fetchone()[0] == planted["accounts_without_address"]
		cur.execute("SELECT COUNT(*) FROM invoice WHERE date = '0000-00-00'")
		assert cur.fetchone()[0] >= 1
		cur.execute("SELECT COUNT(*) FROM account WHERE password REGEXP '^[0-9a-f]{32}$'")
		assert cur.fetchone()[0] == counts["account"]

	facts = money_facts(conn, TODAY)
	assert all(i.date <= TODAY for i in facts["invoices"])  # zero and future dates repaired
	match = match_credit_notes(facts["credit_notes"], facts["invoices"], facts["payments"])
	truth = report["credit_truth"]
	assert len(facts["credit_notes"]) == planted["credit_notes"] == len(truth)
	assert match.counts()["named"] == planted["credit_notes_named"]
	assert not match.unmatched
	right = sum(1 for credit, invoice in match.links.items() if truth[credit] == invoice)
	assert right / len(truth) >= 0.95, match.counts()

	balances, excluded = legacy_balances(
		((i.account, i.total) for i in facts["invoices"] + facts["credit_notes"]), facts["payments"]
	)
	assert excluded["reversements"] == planted["reversements"]
	assert excluded["reversement_cents"] == planted["reversement_cents"]
	assert excluded["duplicates"] == planted["duplicate_stripe"]
	assert excluded["duplicate_cents"] == planted["duplicate_stripe_cents"]
	# Counted as money, the reversements and duplicates are the phantom overpayment.
	naive = sum(i.total for i in facts["invoices"] + facts["credit_notes"]) - sum(
		p.amount for p in facts["payments"]
	)
	assert sum(balances.values()) - naive == planted["reversement_cents"] + planted["duplicate_stripe_cents"]
	assert sum(balances.values()) > 0


def test_generation_is_deterministic(mariadb_conn):
	with mariadb_conn.cursor() as cur:
		cur.execute("SELECT DATABASE()")
		database = cur.fetchone()[0]
	digests = []
	for _ in range(2):
		create_database(mariadb_conn, database)
		generate(mariadb_conn, seed=3, scale=0.001)
		with mariadb_conn.cursor() as cur:
			cur.execute("CHECKSUM TABLE account, invoice, invoice_item, payment, payment_item, ticket_msg")
			digests.append(cur.fetchall())
	assert digests[0] == digests[1]


def test_settle_returns_payments_and_advances():
	from gigafibre_fsm.core.legacy.reconcile import settle

	totals = {1: 1000, 2: 2000, 3: 500}
	credits = {10: -1000, 11: -300}  # 10 cancels invoice 1; 11 is linked to nothing
	payments = [
		Payment(20, 5, 2500, "cheque", allocations=((2, 2000), (3, 500))),
		Payment(21, 5, 700, "visa", allocations=((1, 700),)),  # invoice 1 was credited: an advance
		Payment(22, 5, 900, "visa", allocations=((99, 900),)),  # an invoice that does not exist
	]
	result = settle(totals, {10: 1}, credits, payments)
	assert result.outstanding == {1: 0, 2: 0, 3: 0, 10: 0, 11: -300}
	assert result.allocations == {20: [(2, 2000, 2000), (3, 500, 500)], 21: [], 22: []}
	assert result.unallocated == {20: 0, 21: 700, 22: 900}
	assert result.moved == 700  # allocations that found nothing due (the unknown invoice is not counted)


def test_invoice_status_follows_erpnext():
	from gigafibre_fsm.core.legacy.reconcile import invoice_status

	today = D("2026-12-06")
	assert invoice_status(1000, 1000, D("2026-11-01"), today, False, False) == "Overdue"
	assert invoice_status(400, 1000, D("2026-12-31"), today, False, False) == "Partly Paid"
	assert invoice_status(1000, 1000, D("2026-12-31"), today, False, False) == "Unpaid"
	assert invoice_status(0, 1000, D("2026-11-01"), today, False, True) == "Credit Note Issued"
	assert invoice_status(0, 1000, D("2026-11-01"), today, False, False) == "Paid"
	assert invoice_status(0, -1000, D("2026-11-01"), today, True, False) == "Return"
	assert invoice_status(-1000, -1000, D("2026-11-01"), today, True, False) == "Return"


def test_annual_skus_are_yearly_prices():
	from gigafibre_fsm.core.legacy.reconcile import monthly_price

	assert monthly_price(3995, "INT-0100") == 3995
	assert monthly_price(47940, "INT-0100-ANN") == 3995
	assert monthly_price(12000, "tv-ann") == 1000
