import json
from datetime import date
from decimal import Decimal

import pytest
from shapely.geometry import shape

from gigafibre_fsm.core.customers.address import parse_street
from gigafibre_fsm.core.customers.footprint import Footprint
from gigafibre_fsm.core.customers.matching import TIE_MARGIN
from gigafibre_fsm.core.customers.pricing import Plan, Promotion
from gigafibre_fsm.core.customers.served import (
	AMBIGUOUS,
	IN_SERVED_ZONE,
	NO_CIVIC_NUMBER,
	NOT_IN_FOOTPRINT,
	SERVED,
	ZONE_NOT_SERVED,
	AddressRecord,
	Zone,
)
from gigafibre_fsm.core.errors import InvalidInput
from tests.core.customers.factory import PLANS, TODAY, make_footprint, square

FP = make_footprint()


def check(text=None, lat=None, lon=None, **kw):
	kw.setdefault("today", TODAY)
	return FP.check(text, lat, lon, **kw)


# --- matching ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"text",
	[
		"123, rue Principale, Sainte-Clotilde QC J0L 1W0",
		"123 rue Principale, Ste-Clotilde",
		"123 r. Principale St-Clotilde",
		"123 RUE PRINCIPALE SAINTE CLOTILDE J0L1W0",
		"123 Principale St, Sainte-Clotilde",
		"123 rue Principale Sainte-Clotilde",
	],
)
def test_exact_match_whatever_the_spelling(text):
	r = check(text)
	assert (r.serviceable, r.reason, r.how, r.service_location) == (True, SERVED, "exact", "LOC-00123")
	assert r.connection_type == "FTTH" and r.zone.id == "Z1"


def test_typo_in_the_street_name_matches_fuzzily():
	r = check("125 rue Princpale, Sainte-Clotilde")
	assert (r.reason, r.how, r.service_location) == (SERVED, "fuzzy", "LOC-00125")
	assert 90 < r.score < 100
	# the civic number exists on both streets, but the type written settles it (chemin loses 10 points)
	assert check("123 rue Princpale, Sainte-Clotilde").service_location == "LOC-00123"


def test_one_edit_on_a_short_name_and_typos_in_particles():
	# "Mracil" is one swap away from "Marcil" but scores only 83.3, under the 85 cutoff
	r = check("40 rue Mracil, Sainte-Clotilde")
	assert (r.how, r.service_location) == ("fuzzy", "LOC-00040")
	assert r.score == pytest.approx(83.33, abs=0.01)
	# two swaps: no match
	assert check("40 rue Mracli, Sainte-Clotilde").reason == NOT_IN_FOOTPRINT
	# a typo in a particle: "dess Érables" is compared with "des Érables" as spelled
	assert check("15 rue dess Érables, Sainte-Clotilde").service_location == "LOC-00015"


def test_wrong_street_type_or_missing_direction_still_matches_a_single_street():
	r = check("5 avenue de l'Eglise, Ste-Clotilde")
	assert (r.reason, r.how, r.service_location, r.score) == (SERVED, "fuzzy", "LOC-00005", 90.0)
	r = check("300 boul Sainte-Marie, Sainte-Clotilde")
	assert (r.how, r.service_location) == ("fuzzy", "LOC-00300")
	assert check("300 bd Ste-Marie E Ste-Clotilde").how == "exact"


def test_two_streets_within_the_tie_margin_are_ambiguous():
	# "Principal" scores 100 on chemin Principal and 94.7 on rue Principale: within TIE_MARGIN (6)
	r = check("123 Principal, Sainte-Clotilde")
	assert (r.serviceable, r.reason) == (False, AMBIGUOUS)
	assert [c.record.service_location for c in r.candidates] == ["LOC-10123", "LOC-00123"]
	assert r.candidates[0].score - r.candidates[1].score < TIE_MARGIN
	assert r.params[0] == 2 and "chemin Principal" in r.text and "rue Principale" in r.text
	assert r.plans == () and r.earliest_install_date is None
	# the street type written removes the doubt
	assert check("123 ch. Principal, Sainte-Clotilde").service_location == "LOC-10123"
	assert check("123 rue Principale, Sainte-Clotilde").service_location == "LOC-00123"
	# only one of the two streets has civic 200
	assert check("200 Principal, Sainte-Clotilde").service_location == "LOC-10200"


def test_a_position_settles_an_ambiguous_address():
	r = check("123 Principal, Sainte-Clotilde", lat=45.17001, lon=-73.69001)
	assert (r.reason, r.service_location) == (SERVED, "LOC-10123")


def test_without_a_municipality_the_postal_code_or_every_municipality_is_searched():
	assert check("123 rue Principale J0L 2L0").service_location == "LOC-20123"
	r = check("123 rue Principale")
	assert r.reason == AMBIGUOUS
	assert {c.record.municipality for c in r.candidates} == {"Sainte-Clotilde", "Saint-Rémi"}


def test_municipality_spellings():
	assert check("123 rue Principale, St Rémi").service_location == "LOC-20123"
	assert check("123 rue Principale, Saint-Remi").service_location == "LOC-20123"
	assert check("123 rue Principale, Sainte-Clotide").service_location == "LOC-00123"  # typo
	assert check("800 rang Double Saint-Urbain-Premier").record.service_location == "LOC-40800"
	# an old name that is not served: the postal code finds the municipality
	assert check("123 rue Principale, Sainte-Clotilde-de-Châteauguay J0L 1W0").service_location == "LOC-00123"
	r = check("123 rue Principale, Sainte-Clotilde-de-Châteauguay")
	assert (r.reason, r.message) == (NOT_IN_FOOTPRINT, "{0} is not a served municipality")


def test_units_and_the_other_reading_of_a_number_pair():
	assert check("12 rue St-Jean app 2, Ste-Clotilde").service_location == "LOC-00012-2"
	assert check("2-12 rue Saint-Jean, Sainte-Clotilde").service_location == "LOC-00012-2"
	assert check("12 rue Saint-Jean #1, Sainte-Clotilde").service_location == "LOC-00012-1"
	r = check("12 rue Saint-Jean, Sainte-Clotilde")  # no unit: the building is served (first unit)
	assert (r.serviceable, r.connection_type) == (True, "FTTB")
	# 15-20 reads unit 15 at 20 first (Canada Post); only 15 exists, so unit 20 at 15
	assert check("15-20 rue des Érables, Sainte-Clotilde").service_location == "LOC-00015"


@pytest.mark.parametrize(
	("text", "reason", "message"),
	[
		(
			"999 rue Principale, Sainte-Clotilde",
			NOT_IN_FOOTPRINT,
			"No served address at civic number {0} on {1}",
		),
		("1 rue Inexistante, Sainte-Clotilde", NOT_IN_FOOTPRINT, "No served street matches {0}"),
		("10 rue Sherbrooke, Montréal", NOT_IN_FOOTPRINT, "{0} is not a served municipality"),
		("rue Principale, Sainte-Clotilde", NO_CIVIC_NUMBER, "The address has no civic number"),
	],
)
def test_addresses_that_are_not_served(text, reason, message):
	r = check(text)
	assert (r.serviceable, r.reason, r.message) == (False, reason, message)
	assert r.record is None and r.plans == () and r.install_fee is None


def test_zone_not_served():
	r = check("10 rue de l'Église, Napierville")
	assert (r.serviceable, r.reason, r.text) == (False, ZONE_NOT_SERVED, "Zone Napierville is not served yet")
	assert r.service_location == "LOC-30010"
	r = check("800 rang Double, Saint-Urbain-Premier")
	assert (r.reason, r.text) == (ZONE_NOT_SERVED, "No plan is offered in zone Rang Double for DSL")


# --- positions -----------------------------------------------------------------------------------


def test_point_in_and_out_of_zones():
	assert [z.id for z in FP.zones_at(45.17, -73.63)] == ["Z2"]
	assert FP.zones_at(45.30, -73.50) == []
	assert FP.zone_at(45.17, -73.63).id == "Z2"


def test_a_point_in_two_zones_belongs_to_the_smaller_then_to_the_lower_id():
	# Z3 lies inside Z1: the smaller wins
	assert [z.id for z in FP.zones_at(45.152, -73.688)] == ["Z3", "Z1"]
	# on the edge Z1 and Z2 share (same area): edges count as inside, the lower id wins
	assert [z.id for z in FP.zones_at(45.17, -73.66)] == ["Z1", "Z2"]
	# on a corner of Z3, inside Z1
	assert FP.zone_at(45.15, -73.69).id == "Z3"


def test_a_served_zone_comes_before_a_smaller_unserved_one():
	zones = [
		Zone("A", "Big", "FTTH", shape(square(0, 0, 10, 10))),
		Zone("B", "Small, not served", "FTTH", shape(square(1, 1, 2, 2)), served=False),
	]
	fp = Footprint([], zones, PLANS)
	assert [z.id for z in fp.zones_at(1.5, 1.5)] == ["A", "B"]


def test_a_position_alone_finds_the_nearest_address_or_the_zone():
	r = check(lat=45.16102, lon=-73.68003)  # about 3 m from 123 rue Principale
	assert (r.reason, r.how, r.service_location) == (SERVED, "position", "LOC-00123")
	r = check(lat=45.17, lon=-73.63)  # in Z2, far from any address
	assert (r.serviceable, r.reason, r.zone.id, r.record) == (True, IN_SERVED_ZONE, "Z2", None)
	assert r.text == "The position is in served zone Sainte-Clotilde est"
	r = check(lat=45.19, lon=-73.40)  # in Napierville, not served
	assert (r.serviceable, r.reason) == (False, ZONE_NOT_SERVED)
	r = check(lat=45.30, lon=-73.50)
	assert (r.serviceable, r.reason, r.text) == (
		False,
		NOT_IN_FOOTPRINT,
		"The position is outside every served zone",
	)


def test_nearest_respects_the_radius():
	near = FP.nearest(45.16102, -73.68003)
	assert near[0].service_location == "LOC-00123" and near[1] < 5
	assert FP.nearest(45.1615, -73.6800, radius_m=10) is None  # ~55 m from 123 and from 125
	assert FP.nearest(45.1615, -73.6800, radius_m=60)[0].service_location in {"LOC-00123", "LOC-00125"}


def test_an_unknown_address_with_a_position_in_a_served_zone():
	r = check("77 rue Nouvelle, Sainte-Clotilde", lat=45.17, lon=-73.63)
	assert (r.serviceable, r.reason, r.zone.id, r.record) == (True, IN_SERVED_ZONE, "Z2", None)
	assert r.params[0] == "77 rue Nouvelle, Sainte-Clotilde"
	r = check("77 rue Nouvelle, Sainte-Clotilde", lat=45.30, lon=-73.50)
	assert (r.serviceable, r.reason, r.message) == (False, NOT_IN_FOOTPRINT, "No served street matches {0}")


def test_bad_positions_and_empty_questions_are_refused():
	with pytest.raises(InvalidInput, match="address or a position"):
		FP.check(today=TODAY)
	with pytest.raises(InvalidInput, match="both a latitude and a longitude"):
		FP.check(lat=45.1, today=TODAY)
	with pytest.raises(InvalidInput, match="not a position"):
		FP.check(lat=95, lon=-73, today=TODAY)
	with pytest.raises(InvalidInput, match="not a position"):
		FP.check(lat="north", lon=-73, today=TODAY)
	with pytest.raises(InvalidInput, match="not a valid Canadian postal code"):
		FP.check("123 rue Principale, Sainte-Clotilde D0L 1W0", today=TODAY)


# --- prices, fee, date ---------------------------------------------------------------------------


def offers(result):
	return {o.item_code: (str(o.price), o.promotion.code if o.promotion else None) for o in result.plans}


def test_plans_prices_fee_and_date_of_a_served_address():
	r = check("123 rue Principale, Sainte-Clotilde")
	assert offers(r) == {"FIB-100": ("44.95", None), "FIB-500": ("69.95", None), "FIB-1000": ("89.95", None)}
	assert r.install_fee == Decimal("99.00")  # the zone's fee
	assert r.earliest_install_date == date(2026, 11, 30)  # Thursday + 2 days = Saturday → Monday


def test_promotion_dates_and_limit_through_check():
	text = "123 rue Principale, Sainte-Clotilde"
	assert offers(check(text, today=date(2026, 11, 26)))["FIB-500"] == ("69.95", None)
	assert offers(check(text, today=date(2026, 11, 27)))["FIB-500"] == ("39.95", "BF2026")
	assert offers(check(text, today=date(2026, 12, 1)))["FIB-500"] == ("39.95", "BF2026")
	assert offers(check(text, today=date(2026, 12, 2)))["FIB-500"] == ("69.95", None)
	full = check(text, today=date(2026, 11, 28), promotion_uses={"BF2026": 100})
	assert offers(full)["FIB-500"] == ("69.95", None)


def test_zone_defaults_and_dispatch_capacity_through_check():
	r = check("1500 montée Bélanger, Sainte-Clotilde", today=date(2026, 11, 28))
	assert r.install_fee == Decimal("149.00")  # the footprint's default
	assert r.earliest_install_date == date(2026, 12, 3)  # Z2 needs 5 days
	assert offers(r)["FIB-100"] == ("39.95", "EST10")  # the Z2 discount
	capacity = {"Z1": date(2026, 12, 8)}
	assert check("123 rue Principale, Sainte-Clotilde", capacity=capacity).earliest_install_date == date(
		2026, 12, 8
	)
	assert check(
		"123 rue Principale, Sainte-Clotilde", capacity=lambda zone: None
	).earliest_install_date == date(2026, 11, 30)


def test_fttb_address_in_a_ftth_zone_gets_its_own_connection_type():
	r = check("5 rue de l'Église, Sainte-Clotilde")
	assert (r.connection_type, r.zone.id) == ("FTTB", "Z3")
	assert list(offers(r)) == ["FIB-100", "FIB-500"]


def test_to_dict_is_plain_json():
	r = check("123 rue Principale, Sainte-Clotilde", today=date(2026, 11, 27))
	data = json.loads(json.dumps(r.to_dict()))
	assert data["serviceable"] is True and data["reason"] == "served"
	assert data["service_location"] == "LOC-00123"
	assert data["match"]["how"] == "exact" and data["zone"]["id"] == "Z1"
	assert data["earliest_install_date"] == "2026-11-30" and data["install_fee"] == 99.0
	fib500 = next(p for p in data["plans"] if p["item_code"] == "FIB-500")
	assert (fib500["price"], fib500["regular_price"], fib500["promotion"]["code"]) == (39.95, 69.95, "BF2026")
	assert data["message"] == "123 rue Principale, Sainte-Clotilde QC J0L 1W0 is served (FTTH)"
	ambiguous = json.loads(json.dumps(check("123 Principal, Sainte-Clotilde").to_dict()))
	assert [c["service_location"] for c in ambiguous["candidates"]] == ["LOC-10123", "LOC-00123"]


# --- building ------------------------------------------------------------------------------------


def record(zone="Z1", **kw):
	return AddressRecord("1", parse_street("rue A"), "Ville", zone, "FTTH", **kw)


def test_building_checks_references():
	zone = Zone("Z1", "One", "FTTH", shape(square(0, 0, 1, 1)))
	with pytest.raises(InvalidInput, match="Line 7: unknown zone Z9"):
		Footprint([record("Z9", line=7)], [zone])
	with pytest.raises(InvalidInput, match="defined twice"):
		Footprint([], [zone, zone])
	with pytest.raises(InvalidInput, match="not in the catalogue"):
		Footprint([], [Zone("Z1", "One", "FTTH", prices={"NOPE": None})], PLANS)
	promo = Promotion("P", date(2026, 1, 1), date(2026, 2, 1), price="1", item_codes=frozenset({"NOPE"}))
	with pytest.raises(InvalidInput, match="not in the catalogue"):
		Footprint([], [zone], PLANS, [promo])


def test_a_footprint_without_zones_or_positions_still_matches_addresses():
	fp = Footprint([record()], [Zone("Z1", "One", "FTTH")], [Plan("P", "P", "10", 1, 1)])
	assert fp.check("1 rue A, Ville", today=TODAY).reason == SERVED
	assert fp.zones_at(0.5, 0.5) == [] and fp.nearest(0.5, 0.5) is None
	assert fp.check(lat=0.5, lon=0.5, today=TODAY).reason == NOT_IN_FOOTPRINT
