"""How the legacy PHP system's values become ERPNext's: statuses, recurrences, dates, text.

Plain functions over plain values (the rows PyMySQL returns). Each rule says what it does with
what the PHP app left behind: zero dates, empty strings beside NULLs, UTF-8 stored in latin1
columns, phones and e-mails typed in free text.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

# service.payment_recurrence (shared/FACTS.md): 0 annual, 2 monthly, 5 semestrial.
RECURRENCES = {0: "Annual", 2: "Monthly", 5: "Semestrial"}
# service.status: 1 active, 0 cancelled, 2 pending (installation not done).
SERVICE_STATUSES = {1: "Actif", 0: "Annulé", 2: "En attente"}
# ticket.status: 0 open, 1 in progress (answered), 2 closed.
TICKET_STATUSES = {0: "Open", 1: "Replied", 2: "Closed"}
TICKET_PRIORITIES = {0: "Low", 1: "Medium", 2: "High"}
# bon_travail.status: 0 planned, 1 done, 2 cancelled; type in French.
WORK_ORDER_STATUSES = {0: "Assigned", 1: "Completed", 2: "Cancelled"}  # Dispatch Job statuses
STALE_AFTER_DAYS = 30  # a planned work order this long past its day was never closed
WORK_ORDER_TYPES = {
	"installation": "Installation",
	"reparation": "Repair",
	"réparation": "Repair",
	"entretien": "Maintenance",
	"retrait": "Removal",
}
DEVICE_TYPES = {
	"ont": "ONT",
	"modem": "Modem",
	"routeur": "Router",
	"router": "Router",
	"terminal tv": "TV Box",
	"tv": "TV Box",
	"ata": "IP Phone",
	"telephone ip": "IP Phone",
}
# device.status: 1 installed at the customer, 0 back in stock, 3 defective.
DEVICE_STATUSES = {1: "Active", 0: "Returned", 3: "Defective"}
# payment.method -> ERPNext's standard Modes of Payment.
PAYMENT_MODES = {
	"cheque": "Cheque",
	"comptant": "Cash",
	"visa": "Credit Card",
	"stripe": "Credit Card",
	"preauth": "Wire Transfer",
	"interac": "Bank Draft",
}
_ONE = Decimal(1)
DEFAULT_AREA_CODE = "450"  # the region around Sainte-Clotilde
# a character that UTF-8 bytes read as cp1252 or latin1 give (one search in C, not one test per
# character in Python: repair_text runs on every line of 630K invoices)
_MOJIBAKE_CHAR = re.compile("[\u0080-\u00ff\u0152-\u2122]").search


def blank(value):
	"""None for NULL, empty and whitespace-only strings; other values stripped or as they are."""
	if value is None:
		return None
	if isinstance(value, str):
		value = value.strip()
		return value or None
	return value


def repair_text(value: str | None) -> str | None:
	"""Undo mojibake: UTF-8 bytes that PHP wrote through a latin1 connection come back as
	``Ã©`` for ``é``. Re-encode as latin1 (cp1252, MariaDB's latin1) and decode as UTF-8;
	a string that does not round-trip was not mojibake and is kept."""
	value = blank(value)
	if value is None or value.isascii() or _MOJIBAKE_CHAR(value) is None:
		return value
	for codec in ("cp1252", "latin1"):
		try:
			return value.encode(codec).decode("utf-8")
		except (UnicodeEncodeError, UnicodeDecodeError):
			continue
	return value


def legacy_date(value, *, today: date, fallback: date | None = None) -> date | None:
	"""A date from a legacy column: ``0000-00-00`` (PyMySQL hands it back as a string or None),
	an unparsable value, or a date after ``today`` (a mistyped year) give ``fallback``."""
	if isinstance(value, datetime):
		value = value.date()
	elif isinstance(value, str):
		try:
			value = date.fromisoformat(value[:10])
		except ValueError:
			value = None
	if not isinstance(value, date) or value.year < 1990 or value > today:
		return fallback
	return value


def recurrence(code) -> str | None:
	"""``payment_recurrence`` → billing cycle; None for a code the legacy system never defined."""
	try:
		return RECURRENCES.get(int(code))
	except (TypeError, ValueError):
		return None


def service_status(code, actif_until: date | None, today: date) -> str:
	"""A service with an ``actif_until`` in the past ended then, whatever its status says;
	``actif_until`` NULL means permanent."""
	status = SERVICE_STATUSES.get(int(code or 0), "Annulé")
	if status == "Actif" and actif_until is not None and actif_until < today:
		return "Annulé"
	return status


def customer_disabled(code) -> int:
	"""account.status 1 active and 2 suspended stay enabled; 0 inactive and 3 closed are disabled."""
	return 0 if int(code or 0) in (1, 2) else 1


def customer_name(company, first_name, last_name, account_id) -> str:
	company = repair_text(company)
	if company:
		return company
	name = " ".join(part for part in (repair_text(first_name), repair_text(last_name)) if part)
	return name or f"Client {account_id}"


def phone(value, area_code: str = DEFAULT_AREA_CODE) -> str | None:
	"""E.164 (+1XXXXXXXXXX) from any North American way of writing a phone, extension dropped;
	None for what is not a phone ("0", "", seven digits without area code get the region's)."""
	value = blank(value)
	if value is None:
		return None
	value = re.split(r"(?i)\s*(?:poste|ext\.?|x)\s*\d", value)[0]
	digits = re.sub(r"\D", "", value)
	if len(digits) == 11 and digits.startswith("1"):
		digits = digits[1:]
	if len(digits) == 7:
		digits = area_code + digits
	if len(digits) != 10 or digits[0] in "01":
		return None
	return "+1" + digits


EMAIL = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")


def email(value) -> str | None:
	"""The first valid address of a free-text e-mail field, lower-cased; None for "aucun",
	"n/a", empty or malformed values."""
	value = blank(value)
	if value is None:
		return None
	for part in re.split(r"[;,\s]+", value.lower()):
		if EMAIL.match(part):
			return part
	return None


def postal_code(value) -> str | None:
	"""Canadian postal code as ``A1A 1A1``; other values kept as typed (stripped)."""
	value = blank(value)
	if value is None:
		return None
	compact = re.sub(r"\s", "", value).upper()
	if re.fullmatch(r"[A-Z]\d[A-Z]\d[A-Z]\d", compact):
		return f"{compact[:3]} {compact[3:]}"
	return value


def cents(value) -> int:
	"""A DECIMAL(12,2) (Decimal, str or number) as integer cents, exactly."""
	if type(value) is Decimal:  # what PyMySQL returns: no detour through str (called ~10 M times)
		return int((value * 100).quantize(_ONE, rounding=ROUND_HALF_UP))
	if value is None or value == "":
		return 0
	return int((Decimal(str(value)) * 100).quantize(_ONE, rounding=ROUND_HALF_UP))


def work_order_type(value) -> str:
	"""bon_travail.type (French, typed freely: "Réparation ", "INSTALLATION") → job type;
	an unknown or empty type is Maintenance."""
	key = (blank(value) or "").lower()
	return WORK_ORDER_TYPES.get(key, "Maintenance")


def work_order_status(code, has_technician: bool, planned: date | None, today: date) -> str:
	"""bon_travail.status → Dispatch Job status. Done and cancelled orders are history; a planned
	one is Assigned to its technician, or a Draft (unpublished, for a dispatcher) when it has
	none or when its day is more than STALE_AFTER_DAYS past (the PHP app never closed it)."""
	try:
		status = WORK_ORDER_STATUSES.get(int(code), "Cancelled")
	except (TypeError, ValueError):
		status = "Cancelled"
	if status != "Assigned":
		return status
	stale = planned is not None and (today - planned).days > STALE_AFTER_DAYS
	return "Assigned" if has_technician and not stale else "Draft"


def staff_status(active) -> str:
	"""staff.active → Employee status: Active, or Inactive (Left would need a relieving date
	the legacy system never kept)."""
	return "Active" if int(active or 0) == 1 else "Inactive"
