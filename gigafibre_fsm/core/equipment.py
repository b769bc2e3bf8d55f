"""Rules for customer-premises equipment: MAC normalising and the status lifecycle."""

from __future__ import annotations

import re

from gigafibre_fsm.core.errors import IllegalTransition, InvalidInput

EQUIPMENT_TYPES = ("ONT", "Modem", "Router", "TV Box", "IP Phone")
STATUSES = ("Inventory", "Active", "Defective", "Returned")

# inventory → active → defective → returned; a device can go back to stock from
# active (swap without fault) and a repaired/returned one re-enters inventory.
TRANSITIONS: dict[str, frozenset[str]] = {
	"Inventory": frozenset({"Active", "Defective", "Returned"}),
	"Active": frozenset({"Inventory", "Defective", "Returned"}),
	"Defective": frozenset({"Returned", "Inventory"}),
	"Returned": frozenset({"Inventory"}),
}

_HEX12 = re.compile(r"^[0-9a-f]{12}$")


def normalise_mac(value: str | None) -> str:
	"""Return a MAC as ``aa:bb:cc:dd:ee:ff`` from any common spelling; "" for empty.

	Accepts colons, dashes, dots (Cisco ``aabb.ccdd.eeff``), spaces or none.
	Raises InvalidInput for anything that is not 12 hex digits.
	"""
	if not value or not value.strip():
		return ""
	digits = re.sub(r"[\s:.\-]", "", value.strip().lower())
	if not _HEX12.match(digits):
		raise InvalidInput("{0} is not a valid MAC address", value)
	return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def check_status_change(old: str | None, new: str) -> None:
	"""Refuse a status change the lifecycle does not allow. A new record may start anywhere."""
	if new not in STATUSES:
		raise InvalidInput("Unknown equipment status {0}", new)
	if not old or old == new:
		return
	if new not in TRANSITIONS.get(old, frozenset()):
		raise IllegalTransition("Equipment cannot go from {0} to {1}", old, new)
