import pytest

from gigafibre_fsm.core.customers.address import (
	name_key,
	normalise_address,
	normalise_postal_code,
	parse_street,
)
from gigafibre_fsm.core.errors import InvalidInput


def parts(text, municipalities=None):
	a = normalise_address(text, municipalities)
	street = a.street
	return (
		a.civic,
		a.unit,
		street.type if street else None,
		street.name if street else None,
		street.direction if street else None,
		a.municipality,
		a.province,
		a.postal_code,
	)


def test_a_full_address_with_commas():
	a = normalise_address("123, rue Principale, Sainte-Clotilde QC J0L 1W0")
	assert parts(a.text) == ("123", None, "rue", "Principale", None, "Sainte-Clotilde", "QC", "J0L 1W0")
	assert a.street.key == "principale" and a.municipality_key == "saint clotilde"
	assert a.street.display == "rue Principale"
	assert a.label == "123 rue Principale, Sainte-Clotilde QC J0L 1W0"
	assert a.to_dict()["street_type"] == "rue"


def test_without_commas_the_saint_word_starts_the_municipality():
	assert parts("123 Principale St-Clotilde") == (
		"123",
		None,
		None,
		"Principale",
		None,
		"Saint-Clotilde",
		None,
		None,
	)
	assert parts("1000 rang St-Joseph E Ste-Martine") == (
		"1000",
		None,
		"rang",
		"Saint-Joseph",
		"Est",
		"Sainte-Martine",
		None,
		None,
	)


def test_without_commas_known_municipalities_split_the_text():
	known = {name_key("Napierville"), name_key("Sainte-Clotilde")}
	assert parts("12 chemin du Lac Napierville", known)[3:6] == ("du Lac", None, "Napierville")
	# unknown: the whole text is the street
	assert parts("12 chemin du Lac Napierville")[3:6] == ("du Lac Napierville", None, None)
	# a street named like a municipality keeps its name
	assert parts("5 rue Napierville", known)[2:6] == ("rue", "Napierville", None, None)


@pytest.mark.parametrize(
	"text",
	[
		"Sainte-Clotilde",
		"Ste-Clotilde",
		"St-Clotilde",
		"Saint Clotilde",
		"SAINTE CLOTILDE",
		"ste. clotilde",
		"Sté-Clotilde",
	],
)
def test_saint_and_sainte_abbreviations_share_a_key(text):
	assert name_key(text) == name_key("Sainte-Clotilde") == "saint clotilde"


def test_accents_case_hyphens_and_particles_do_not_change_keys():
	assert name_key("de l'Église") == name_key("EGLISE") == "eglise"
	assert parse_street("Chemin du Lac").key == parse_street("ch. Lac").key == "lac"
	assert name_key("Saint-Rémi") == name_key("st remi")
	assert name_key("Cœur-Vaillant") == "coeur vaillant"
	assert name_key("1re") == name_key("1er") == name_key("1st") == "1"


def test_display_keeps_accents_and_recapitalises_lower_or_upper_text():
	a = normalise_address("12 RUE DE L'ÉGLISE, STE-CLOTILDE")
	assert a.street.display == "rue de l'Église"
	assert a.municipality == "Sainte-Clotilde"
	b = normalise_address("12 rue des érables, saint-rémi")
	assert (b.street.name, b.municipality) == ("des Érables", "Saint-Rémi")
	# mixed case is kept as written, abbreviations expanded
	assert normalise_address("3 rue McGill, St-Jean-sur-Richelieu").municipality == "Saint-Jean-sur-Richelieu"


@pytest.mark.parametrize(
	("written", "kind"),
	[
		("rue Principale", "rue"),
		("r. Principale", "rue"),
		("Principale St", "rue"),
		("Principale Street", "rue"),
		("boul. Principale", "boulevard"),
		("bd Principale", "boulevard"),
		("Blvd Principale", "boulevard"),
		("Principale Blvd", "boulevard"),
		("av Principale", "avenue"),
		("Principale Ave", "avenue"),
		("ch. Principale", "chemin"),
		("Principale Road", "chemin"),
		("rang Principale", "rang"),
		("rte Principale", "route"),
		("Montée Principale", "montée"),
		("mtée Principale", "montée"),
		("pl. Principale", "place"),
		("crois. Principale", "croissant"),
		("Principale", None),
	],
)
def test_street_types_and_their_abbreviations(written, kind):
	street = parse_street(written)
	assert (street.type, street.name, street.key) == (kind, "Principale", "principale")


def test_directions_in_french_and_english():
	assert parse_street("boul. St-Laurent O.").display == "boulevard Saint-Laurent Ouest"
	assert parse_street("Sherbrooke St W").display == "rue Sherbrooke Ouest"
	assert parse_street("rue Notre-Dame Est").direction == "Est"
	assert parse_street("chemin Nord").display == "chemin Nord"  # a name, not a direction
	assert parse_street("rue de l Est").direction is None  # "l'Est" is the name
	assert parse_street("route 209 S").display == "route 209 Sud"


def test_ordinal_streets():
	assert parse_street("3e Rang").display == "3e Rang"
	assert parse_street("1re Avenue Nord").key == "1"
	assert parts("3e Avenue, Saint-Rémi")[:4] == (None, None, "avenue", "3e")
	assert parts("12 3e Avenue, Saint-Rémi")[:4] == ("12", None, "avenue", "3e")


@pytest.mark.parametrize(
	("text", "civic", "unit"),
	[
		("123 rue Principale app 4, Sainte-Clotilde", "123", "4"),
		("123 rue Principale, app. 4, Sainte-Clotilde", "123", "4"),
		("123 rue Principale apt 4B, Sainte-Clotilde", "123", "4B"),
		("123 rue Principale, appartement 4", "123", "4"),
		("123 rue Principale unit 4", "123", "4"),
		("123 rue Principale, unité 4", "123", "4"),
		("123 rue Principale #4", "123", "4"),
		("123 rue Principale # 4, Sainte-Clotilde", "123", "4"),
		("app 4, 123 rue Principale", "123", "4"),
		("123-4 rue Principale", "123", "4"),
		("4-123 rue Principale", "123", "4"),
		("4 - 123 rue Principale", "123", "4"),
		("123A rue Principale", "123A", None),
		("123-a rue Principale", "123A", None),
		("123 rue Principale", "123", None),
	],
)
def test_civic_numbers_and_units(text, civic, unit):
	a = normalise_address(text)
	assert (a.civic, a.unit, a.street.display) == (civic, unit, "rue Principale")


def test_a_pair_of_numbers_of_the_same_length_follows_canada_post_and_keeps_the_other_reading():
	a = normalise_address("12-34 rue Principale")
	assert (a.civic, a.unit, a.other_reading) == ("34", "12", ("12", "34"))
	b = normalise_address("123-4 rue Principale")
	assert b.other_reading == ("4", "123")


def test_no_civic_number():
	a = normalise_address("rue Principale, Sainte-Clotilde")
	assert a.civic is None and a.street.display == "rue Principale"


@pytest.mark.parametrize("written", ["J0L 1W0", "j0l 1w0", "J0L1W0", "j0l1w0", "J0L-1W0", "j0L 1w0"])
def test_postal_code_formats(written):
	assert normalise_postal_code(written) == "J0L 1W0"
	assert normalise_address(f"123 rue Principale, Sainte-Clotilde {written}").postal_code == "J0L 1W0"


@pytest.mark.parametrize(
	"bad", ["D0L 1W0", "J0L 1W", "W0L 1W0", "J0O 1W0", "JOL 1W0", "J0L 1W00", "12345", ""]
)
def test_bad_postal_codes_are_refused(bad):
	with pytest.raises(InvalidInput, match="not a valid Canadian postal code"):
		normalise_postal_code(bad)


@pytest.mark.parametrize(
	"text", ["123 rue Principale, Sainte-Clotilde D0L 1W0", "123 rue Principale, Sainte-Clotilde QC J0L 1W"]
)
def test_an_address_with_a_bad_postal_code_is_refused(text):
	with pytest.raises(InvalidInput, match="not a valid Canadian postal code") as raised:
		normalise_address(text)
	assert raised.value.template == "{0} is not a valid Canadian postal code (A1A 1A1)"


def test_province_forms():
	assert normalise_address("1 rue A, Sainte-Clotilde, QC, Canada").province == "QC"
	assert normalise_address("1 rue A, Sainte-Clotilde (Québec) J0L 1W0").province == "QC"
	assert normalise_address("1 rue A Sainte-Clotilde qc").province == "QC"
	assert normalise_address("1 rue A, Sainte-Clotilde, Québec").province == "QC"
	# Québec alone after the street is the city
	quebec_city = normalise_address("1 rue Saint-Jean, Québec G1R 1A1")
	assert (quebec_city.municipality, quebec_city.province) == ("Québec", None)
	assert normalise_address("1 rue A, Cornwall ON K6H 1A1").province == "ON"


def test_empty_address_is_refused():
	with pytest.raises(InvalidInput, match="empty"):
		normalise_address(" , ")
