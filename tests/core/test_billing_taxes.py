"""TPS and TVQ as ERPNext computes "On Net Total" taxes (gigafibre_fsm.core.billing.taxes).

Every expected value is worked by hand in the comments.
"""

from decimal import Decimal

import pytest

from gigafibre_fsm.core.billing.taxes import (
	BANKERS,
	BANKERS_LEGACY,
	COMMERCIAL,
	QUEBEC_TAXES,
	Tax,
	compute_taxes,
	round_cents,
)
from gigafibre_fsm.core.errors import InvalidInput

M = Decimal


def test_one_line():
	# 39.95: TPS 1.9975 → 2.00, TVQ 3.9850125 → 3.99, total 45.94
	summary = compute_taxes([M("39.95")])
	assert [(r.name, r.rate, r.amount, r.total) for r in summary.rows] == [
		("TPS", M("5"), M("2.00"), M("41.95")),
		("TVQ", M("9.975"), M("3.99"), M("45.94")),
	]
	assert (summary.net_total, summary.total_taxes, summary.grand_total) == (
		M("39.95"),
		M("5.99"),
		M("45.94"),
	)


def test_two_lines_39_95_and_59_95():
	# net 99.90; TPS 1.9975 + 2.9975 = 4.995 → 5.00; TVQ 3.9850125 + 5.9800125 = 9.965025 → 9.97
	summary = compute_taxes(["39.95", "59.95"])
	assert (summary.amount("TPS"), summary.amount("TVQ")) == (M("5.00"), M("9.97"))
	assert (summary.total_taxes, summary.grand_total) == (M("14.97"), M("114.87"))
	assert [line.taxes for line in summary.lines] == [(M("2.00"), M("3.99")), (M("3.00"), M("5.98"))]
	assert [line.total for line in summary.lines] == [M("45.94"), M("68.93")]


def test_the_document_rounds_once_not_line_by_line():
	# 9.32 (a prorated month) + 39.95:
	#   TPS 0.466 + 1.9975 = 2.4635 → 2.46, but line by line 0.47 + 2.00 = 2.47
	#   TVQ 0.92967 + 3.9850125 = 4.9146825 → 4.91, but line by line 0.93 + 3.99 = 4.92
	summary = compute_taxes(["9.32", "39.95"])
	assert (summary.amount("TPS"), summary.amount("TVQ"), summary.grand_total) == (
		M("2.46"),
		M("4.91"),
		M("56.64"),
	)
	assert [line.taxes for line in summary.lines] == [(M("0.47"), M("0.93")), (M("2.00"), M("3.99"))]
	# Accounts Settings "Round Tax Amount Row-wise": the rounded line taxes are added up
	row_wise = compute_taxes(["9.32", "39.95"], row_wise=True)
	assert (row_wise.amount("TPS"), row_wise.amount("TVQ"), row_wise.grand_total) == (
		M("2.47"),
		M("4.92"),
		M("56.66"),
	)


@pytest.mark.parametrize(
	("net", "method", "tps"),
	[
		# 0.50 × 5 % = 0.025, an exact tie
		("0.50", BANKERS, "0.02"),  # to even
		("0.50", BANKERS_LEGACY, "0.03"),  # up
		("0.50", COMMERCIAL, "0.03"),  # away from zero
		# -0.50 × 5 % = -0.025
		("-0.50", BANKERS, "-0.02"),
		("-0.50", BANKERS_LEGACY, "-0.02"),  # toward +∞ (Frappe's floor + 1)
		("-0.50", COMMERCIAL, "-0.03"),
		# 0.70 × 5 % = 0.035: to even goes up here
		("0.70", BANKERS, "0.04"),
	],
)
def test_ties_follow_the_sites_rounding_method(net, method, tps):
	assert compute_taxes([net], rounding=method).amount("TPS") == M(tps)
	assert compute_taxes([net], rounding=method, exact=True).amount("TPS") == M(tps)
	assert round_cents(M(net) * 5 / 100, method) == M(tps)


def test_erpnext_float_sums_are_followed_and_exact_is_available():
	"""Six lines whose TPS is exactly 30.125: ERPNext's float sum is 30.125000000000007, which
	Frappe's banker's rounding no longer sees as a tie → 30.13; exact arithmetic → 30.12 (to even)."""
	nets = ["110.22", "155.68", "181.62", "111.14", "22.98", "20.86"]
	assert sum(M(n) for n in nets) * 5 / 100 == M("30.125")
	assert compute_taxes(nets).amount("TPS") == M("30.13")
	assert compute_taxes(nets, exact=True).amount("TPS") == M("30.12")


def test_negative_lines_and_no_lines():
	# 59.95 - 50.00 = 9.95: TPS 2.9975 - 2.5 = 0.4975 → 0.50; TVQ 5.9800125 - 4.9875 = 0.9925125 → 0.99
	summary = compute_taxes(["59.95", "-50"])
	assert (summary.net_total, summary.amount("TPS"), summary.amount("TVQ"), summary.grand_total) == (
		M("9.95"),
		M("0.50"),
		M("0.99"),
		M("11.44"),
	)
	empty = compute_taxes([])
	assert (empty.net_total, empty.grand_total, [r.amount for r in empty.rows]) == (
		M("0.00"),
		M("0.00"),
		[M("0.00")] * 2,
	)
	assert compute_taxes(["39.95"], taxes=()).grand_total == M("39.95")


def test_other_rates_and_unknown_names_and_methods():
	assert compute_taxes(["100"], taxes=(Tax("HST", M("13")),)).grand_total == M("113.00")
	assert [t.name for t in QUEBEC_TAXES] == ["TPS", "TVQ"]
	with pytest.raises(InvalidInput):
		compute_taxes(["1"]).amount("PST")
	with pytest.raises(InvalidInput):
		compute_taxes([], rounding="Round Half Up")
	with pytest.raises(InvalidInput):
		round_cents("1.005", "nearest")
