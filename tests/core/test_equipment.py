import pytest

from gigafibre_fsm.core.equipment import check_status_change, normalise_mac
from gigafibre_fsm.core.errors import IllegalTransition, InvalidInput


@pytest.mark.parametrize(
	"raw",
	["AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "aabb.ccdd.eeff", "AABBCCDDEEFF", " aa bb cc dd ee ff "],
)
def test_mac_spellings_normalise_alike(raw):
	assert normalise_mac(raw) == "aa:bb:cc:dd:ee:ff"


@pytest.mark.parametrize("raw", ["aa:bb:cc:dd:ee", "zz:bb:cc:dd:ee:ff", "aabbccddeeff00"])
def test_bad_mac_is_refused(raw):
	with pytest.raises(InvalidInput, match="not a valid MAC"):
		normalise_mac(raw)


def test_empty_mac_is_empty():
	assert normalise_mac(None) == "" == normalise_mac("  ")


def test_lifecycle():
	check_status_change(None, "Active")
	check_status_change("Inventory", "Active")
	check_status_change("Active", "Defective")
	check_status_change("Defective", "Returned")
	check_status_change("Returned", "Inventory")
	with pytest.raises(IllegalTransition, match="from Returned to Active"):
		check_status_change("Returned", "Active")
	with pytest.raises(InvalidInput):
		check_status_change("Active", "Lost")
