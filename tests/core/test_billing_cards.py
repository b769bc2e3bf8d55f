from datetime import date

import pytest

from gigafibre_fsm.core.billing import cards
from gigafibre_fsm.core.billing.cards import Card
from gigafibre_fsm.core.errors import InvalidInput


def test_a_card_from_stripes_card_hash():
	card = Card.from_stripe({"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030})
	assert card == Card("visa", "4242", 12, 2030)
	assert card.expiry == "12/2030"
	assert Card.from_stripe(
		{"brand": "Mastercard", "last4": "4444", "exp_month": "3", "exp_year": "2031"}
	) == (Card("mastercard", "4444", 3, 2031))


@pytest.mark.parametrize(
	"card",
	[
		None,
		{"brand": "visa", "last4": "4242", "exp_month": 13, "exp_year": 2030},
		{"brand": "visa", "last4": "4242", "exp_month": 0, "exp_year": 2030},
		{"brand": "visa", "last4": "4242", "exp_month": 5, "exp_year": 30},
		{"brand": "visa", "last4": "42", "exp_month": 5, "exp_year": 2030},
		{"brand": "visa", "last4": "4242", "exp_month": "mai", "exp_year": 2030},
	],
)
def test_a_card_without_a_readable_expiry_or_last4_is_refused(card):
	with pytest.raises(InvalidInput):
		Card.from_stripe(card)


def test_labels_in_english_and_french():
	visa = Card("visa", "4242", 12, 2030)
	assert cards.card_label(visa) == "Visa •••• 4242, exp 12/2030"
	assert cards.card_label(visa, "fr") == "Visa •••• 4242, exp. 12/2030"
	assert cards.card_label(Card("amex", "0005", 1, 2029), "en") == "American Express •••• 0005, exp 01/2029"
	assert cards.card_label(Card("unknown", "1111", 2, 2028), "fr") == "Carte •••• 1111, exp. 02/2028"
	assert cards.card_label(Card("unknown", "1111", 2, 2028), "en") == "Card •••• 1111, exp 02/2028"


@pytest.mark.parametrize(
	("today", "expected"),
	[
		(date(2030, 10, 31), None),  # two months ahead: not yet
		(date(2030, 11, 1), cards.NEXT_MONTH),
		(date(2030, 12, 1), cards.THIS_MONTH),
		(date(2030, 12, 31), cards.THIS_MONTH),  # valid through the last day of its month
		(date(2031, 1, 1), cards.EXPIRED),
		(date(2029, 12, 15), None),
	],
)
def test_the_expiry_window(today, expected):
	assert cards.expiry_window(Card("visa", "4242", 12, 2030), today) == expected


def test_the_months_to_warn_about_cross_the_year_end():
	assert cards.warning_months(date(2030, 12, 5)) == [(2030, 12), (2031, 1)]
	assert cards.warning_months(date(2031, 1, 31)) == [(2031, 1), (2031, 2)]
	assert cards.warning_months(date(2030, 11, 1)) == [(2030, 11), (2030, 12)]


def test_one_notice_key_per_card_and_expiry():
	old = Card("visa", "4242", 12, 2030)
	renewed = Card("visa", "4242", 12, 2033)  # Stripe's card account updater: same PaymentMethod
	assert cards.notice_key("pm_1", old) == "pm_1:2030-12"
	assert cards.notice_key("pm_1", renewed) != cards.notice_key("pm_1", old)
	assert cards.notice_key("pm_2", old) != cards.notice_key("pm_1", old)
	with pytest.raises(InvalidInput):
		cards.notice_key("", old)
