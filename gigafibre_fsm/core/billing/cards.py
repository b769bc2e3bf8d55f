"""Saved cards: what a Stripe PaymentMethod's card says, how it reads, and when to warn of its expiry.

Pure rules over plain values (the Frappe layer, gigafibre_fsm.customers.saved_cards, reads the
PaymentMethod through the stripe SDK and stores these values on the Customer).

- :class:`Card`: brand, last 4 digits, expiry month and year of a card PaymentMethod
  (``card.brand``, ``card.last4``, ``card.exp_month``, ``card.exp_year`` in Stripe's API). A card is
  valid through the last day of its expiry month.
- :func:`card_label`: ``Visa •••• 4242, exp 12/2030`` (French: ``exp. 12/2030``).
- :func:`expiry_window`: ``this_month`` or ``next_month`` while the card runs out this month or the
  next, ``expired`` after, else ``None``.
- :func:`notice_key`: one expiry notice per card and expiry: ``<payment method>:<YYYY-MM>``. A card
  Stripe updates (a new expiry on the same PaymentMethod, ``payment_method.automatically_updated``)
  or a new card has another key, so it is warned about again when its own time comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gigafibre_fsm.core.errors import InvalidInput

THIS_MONTH = "this_month"
NEXT_MONTH = "next_month"
EXPIRED = "expired"

BRANDS = {
	"visa": "Visa",
	"mastercard": "Mastercard",
	"amex": "American Express",
	"discover": "Discover",
	"diners": "Diners Club",
	"jcb": "JCB",
	"unionpay": "UnionPay",
	"interac": "Interac",
	"cartes_bancaires": "Cartes Bancaires",
	"eftpos_au": "eftpos",
	"link": "Link",
}


@dataclass(frozen=True)
class Card:
	brand: str  # Stripe's brand code: visa, mastercard, amex, ... ("unknown" when Stripe does not say)
	last4: str
	exp_month: int  # 1..12
	exp_year: int  # four digits

	@classmethod
	def from_stripe(cls, card: dict | None) -> Card:
		"""A Card from a PaymentMethod's ``card`` hash; InvalidInput when it lacks the expiry."""
		card = card or {}
		try:
			month, year = int(card.get("exp_month") or 0), int(card.get("exp_year") or 0)
		except (TypeError, ValueError) as e:
			raise InvalidInput("The card's expiry is not a month and a year") from e
		if not 1 <= month <= 12 or year < 2000:
			raise InvalidInput("The card's expiry is not a month and a year")
		last4 = str(card.get("last4") or "")
		if not (len(last4) == 4 and last4.isdigit()):
			raise InvalidInput("The card's last 4 digits are missing")
		return cls(str(card.get("brand") or "unknown").lower(), last4, month, year)

	@property
	def expiry(self) -> str:
		return f"{self.exp_month:02d}/{self.exp_year}"


def brand_name(brand: str | None) -> str:
	code = (brand or "").lower()
	return BRANDS.get(code) or (code.replace("_", " ").title() if code and code != "unknown" else "Card")


def card_label(card: Card, lang: str = "en") -> str:
	"""``Visa •••• 4242, exp 12/2030`` (``Carte`` and ``exp.`` in French)."""
	fr = (lang or "").lower().startswith("fr")
	brand = brand_name(card.brand)
	if fr and brand == "Card":
		brand = "Carte"
	return f"{brand} •••• {card.last4}, {'exp.' if fr else 'exp'} {card.expiry}"


def _month_index(year: int, month: int) -> int:
	return year * 12 + (month - 1)


def expiry_window(card: Card, today: date) -> str | None:
	"""Where the card stands on ``today``: THIS_MONTH, NEXT_MONTH, EXPIRED or None (later)."""
	months_left = _month_index(card.exp_year, card.exp_month) - _month_index(today.year, today.month)
	if months_left < 0:
		return EXPIRED
	if months_left == 0:
		return THIS_MONTH
	if months_left == 1:
		return NEXT_MONTH
	return None


def warning_months(today: date) -> list[tuple[int, int]]:
	"""(year, month) of the expiries to warn about on ``today``: this month and the next."""
	following = _month_index(today.year, today.month) + 1
	return [(today.year, today.month), (following // 12, following % 12 + 1)]


def notice_key(payment_method: str, card: Card) -> str:
	"""The key one expiry notice is sent under: the card and its expiry."""
	if not payment_method:
		raise InvalidInput("A notice key needs the payment method")
	return f"{payment_method}:{card.exp_year:04d}-{card.exp_month:02d}"
