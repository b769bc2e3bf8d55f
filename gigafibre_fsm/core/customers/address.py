"""Normalising free-text Quebec addresses.

``normalise_address("123, rue Principale, Sainte-Clotilde QC J0L 1W0")`` gives civic
``"123"``, street ``rue Principale`` (type ``rue``, name ``Principale``, key
``"principale"``), municipality ``Sainte-Clotilde`` (key ``"saint clotilde"``),
province ``"QC"`` and postal code ``"J0L 1W0"``.

Two forms of every name:
- display: as written, St/Ste expanded to Saint/Sainte, text written all in lower or
  upper case re-capitalised (``"rue st-jean"`` → ``rue Saint-Jean``);
- key (for matching, see :func:`name_key`): case-folded, accents stripped, hyphens,
  apostrophes and dots as spaces, St/Ste/Saint/Sainte all ``saint``, ordinals
  1re/1er/2e/3rd as 1/2/3, the particles de/du/des/d'/la/le/les/l'/à/au/aux left out
  (``"Chemin du Lac"`` and ``"ch. Lac"`` share the key ``"lac"``).

Conventions read:
- civic number first, with a letter (``123A``, ``123-A``); a unit written ``app 4``,
  ``app. 4``, ``apt 4``, ``appartement 4``, ``unit 4``, ``unité 4``, ``suite 4``,
  ``bureau 4``, ``local 4``, ``logement 4`` or ``#4`` anywhere; or a pair of numbers
  ``4-123`` / ``123-4``: the number with more digits is the civic number, and with as
  many digits Canada Post's order applies (unit, then civic: ``12-34`` is unit 12 at
  34). The other reading is kept in ``other_reading`` for the matcher to try.
- street type before the name in French (``rue``/``r.``, ``boul``/``bd``/``blvd``,
  ``av``/``ave``, ``ch``/``chemin``, ``rang``/``rg``, ``route``/``rte``, ``montée``,
  ``place``/``pl``, ``croissant``, ``impasse``...) or after it in English (``Main St``,
  ``3e Rang``, ``1re Avenue``); English types map to their French counterpart
  (street → rue, road → chemin). Direction last: nord/sud/est/ouest, N/S/E/O, W.
- municipality after a comma; without commas, the end of the text that is a known
  municipality (``municipalities``, the keys a footprint serves), else the first
  word from the second on that starts with St-/Ste-/Saint-/Sainte-.
- province code (QC, PQ, Q.C., ON, ...) at the end, ``(Québec)``, or ``Québec`` as
  its own last part after at least two others (``..., Québec`` alone is the city).
- postal code anywhere (last one wins), any case, with or without a space or a hyphen:
  ``"A1A 1A1"``. A postal code that has the shape but not the letters of a Canadian
  one (D, F, I, O, Q, U nowhere; W, Z not first), or a truncated one at the end
  (``J0L 1W``), is refused with :class:`~gigafibre_fsm.core.errors.InvalidInput`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from gigafibre_fsm.core.errors import InvalidInput

__all__ = [
	"NormalisedAddress",
	"Street",
	"fold",
	"name_key",
	"normalise_address",
	"normalise_postal_code",
	"parse_street",
]

_TRANSLATE = str.maketrans(
	{
		"œ": "oe",
		"Œ": "OE",
		"æ": "ae",
		"Æ": "AE",
		"ß": "ss",
		"’": "'",
		"‘": "'",
		"`": "'",
		"‐": "-",
		"‑": "-",
		"–": "-",
		"—": "-",
	}
)
_NON_WORD = re.compile(r"[\W_]+")
_SAINTS = {
	"st": "saint",
	"ste": "saint",
	"saint": "saint",
	"sainte": "saint",
	"sts": "saints",
	"stes": "saints",
	"saints": "saints",
	"saintes": "saints",
}
_PARTICLES = frozenset({"a", "au", "aux", "d", "de", "des", "du", "l", "la", "le", "les", "of", "the"})
_ORDINAL = re.compile(r"^(\d+)(?:e|er|re|ere|eme|ieme|st|nd|rd|th)$")
_SAINT_ABBR = re.compile(r"\b(st|ste|sts|stes)\b\.?", re.IGNORECASE)
_SAINT_EXPANDED = {"st": "Saint", "ste": "Sainte", "sts": "Saints", "stes": "Saintes"}
_SAINT_WORD = re.compile(r"^(?:st|ste|saint|sainte)(?:\.-?|-)\S", re.IGNORECASE)

# canonical street type → the forms it is written in (folded, without the dot)
_TYPE_FORMS = {
	"rue": ("rue", "r", "street", "st", "str"),
	"boulevard": ("boulevard", "boul", "bd", "blvd", "boulv", "bl", "blv"),
	"avenue": ("avenue", "av", "ave"),
	"chemin": ("chemin", "ch", "chem", "road", "rd"),
	"rang": ("rang", "rg"),
	"route": ("route", "rte"),
	"montée": ("montee", "mtee", "mte"),
	"place": ("place", "pl"),
	"croissant": ("croissant", "crois", "cr", "crescent", "cres", "cresc"),
	"impasse": ("impasse", "imp"),
	"allée": ("allee", "all"),
	"côte": ("cote",),
	"terrasse": ("terrasse", "tsse", "terrace", "terr"),
	"promenade": ("promenade", "prom"),
	"carré": ("carre",),
	"cour": ("cour", "court", "ct", "crt"),
	"autoroute": ("autoroute", "aut", "highway", "hwy"),
	"ruelle": ("ruelle",),
	"sentier": ("sentier",),
	"rond-point": ("rond point", "rdpt"),
	"square": ("square", "sq"),
	"parc": ("parc",),
	"voie": ("voie",),
	"drive": ("drive", "dr"),
	"lane": ("lane", "ln"),
	"way": ("way",),
}
# English forms are only read after the name ("Main St"); a few French words end names too often.
_AFTER_ONLY = frozenset(
	{"street", "st", "str", "road", "rd", "drive", "dr", "lane", "ln", "way", "court", "ct"}
)
_BEFORE_ONLY = frozenset({"r", "ch", "all", "imp", "cote", "parc", "voie", "sentier", "ruelle"})
_ALL_TYPES = {form: kind for kind, forms in _TYPE_FORMS.items() for form in forms}
_TYPES_BEFORE = {form: kind for form, kind in _ALL_TYPES.items() if form not in _AFTER_ONLY}
_TYPES_AFTER = {form: kind for form, kind in _ALL_TYPES.items() if form not in _BEFORE_ONLY}
_DIRECTIONS = {
	"nord": "Nord",
	"n": "Nord",
	"north": "Nord",
	"sud": "Sud",
	"s": "Sud",
	"south": "Sud",
	"est": "Est",
	"e": "Est",
	"east": "Est",
	"ouest": "Ouest",
	"o": "Ouest",
	"w": "Ouest",
	"west": "Ouest",
}

_POSTAL_SHAPE = re.compile(r"(?<![0-9A-Za-z])([A-Za-z]\d[A-Za-z])[\s-]?(\d[A-Za-z]\d)(?![0-9A-Za-z])")
_POSTAL_VALID = re.compile(r"^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d$")
_POSTAL_TRUNCATED = re.compile(r"(?:^|[\s,])([A-Za-z]\d[A-Za-z](?:[\s-]?[0-9A-Za-z]{1,4})?)$")
_COUNTRY = re.compile(r"[\s,]*\bcanada$", re.IGNORECASE)
_PROVINCE_CODE = re.compile(
	r"(?:^|(?<=[\s,(]))\(?((?i:qc|pq|q\.c\.|p\.q\.)|ON|NB|NS|PE|NL|MB|SK|AB|BC|YT|NT|NU)\)?\.?$"
)
_PROVINCE_PARENS = re.compile(r"\(\s*(qu[eé]bec|ontario)\s*\)$", re.IGNORECASE)
_PROVINCE_NAMES = {"quebec": "QC", "ontario": "ON"}

_UNIT = re.compile(
	r"(?:^|(?<=[\s,]))(?:appartement|apartment|appt|app|apt|unit[eé]|unit|suite|bureau|local|logement)\.?"
	r"\s*(?:#|no\.?|n°)?\s*([0-9]+[A-Za-z]?|[A-Za-z])(?=[\s,]|$)",
	re.IGNORECASE,
)
_HASH_UNIT = re.compile(r"#\s*([0-9]+[A-Za-z]?|[A-Za-z])(?=[\s,]|$)")
_CIVIC = re.compile(r"^(\d+)([A-Za-z]?)$")
_CIVIC_LETTER = re.compile(r"^(\d+)-([A-Za-z])$")
_CIVIC_PAIR = re.compile(r"^(\d+[A-Za-z]?)-(\d+[A-Za-z]?)$")
_SPACED_HYPHEN = re.compile(r"^(\d+[A-Za-z]?)\s*-\s*(\d+[A-Za-z]?|[A-Za-z])(?=\s|$)")


def fold(text: str) -> str:
	"""Case-folded, accents stripped, every run of punctuation and spaces as one space."""
	text = unicodedata.normalize("NFKD", text.translate(_TRANSLATE))
	text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
	return " ".join(_NON_WORD.sub(" ", text).split())


@lru_cache(maxsize=65536)
def name_key(text: str, *, particles: bool = False) -> str:
	"""The matching key of a street name or a municipality (see the module docstring).

	``particles=True`` keeps de/du/la/l'... (the street's ``spelled`` key, against typos in them).
	"""
	tokens = []
	for token in fold(text).split():
		token = _SAINTS.get(token, token)
		ordinal = _ORDINAL.match(token)
		tokens.append(ordinal.group(1) if ordinal else token)
	kept = tokens if particles else [t for t in tokens if t not in _PARTICLES]
	return " ".join(kept or tokens)


def normalise_postal_code(text: str) -> str:
	"""A Canadian postal code as ``"A1A 1A1"``; any case, with or without a space or a hyphen."""
	compact = re.sub(r"[\s-]", "", text or "").upper()
	if not _POSTAL_VALID.match(compact):
		raise InvalidInput("{0} is not a valid Canadian postal code (A1A 1A1)", (text or "").strip())
	return f"{compact[:3]} {compact[3:]}"


def _expand_saint(match: re.Match[str]) -> str:
	return _SAINT_EXPANDED[match.group(1).casefold()]


def _display(text: str, *, capitalise_particle: bool) -> str:
	"""The display form: St/Ste expanded; all-lower or all-upper text re-capitalised."""
	text = " ".join(text.split()).strip(" ,")
	recase = text == text.lower() or text == text.upper()
	text = _SAINT_ABBR.sub(_expand_saint, text)
	if not recase:
		return text
	pieces = re.split(r"([\s'-])", text.lower())
	out, first = [], True
	for piece in pieces:
		if not piece or piece in " '-":
			out.append(piece)
			continue
		keep_lower = fold(piece) in _PARTICLES and not (first and capitalise_particle)
		out.append(piece if keep_lower else piece[:1].upper() + piece[1:])
		first = False
	return "".join(out)


@dataclass(frozen=True, slots=True)
class Street:
	"""A street: display name, canonical type and direction, matching keys of the name.

	``key`` leaves the particles out (``"lac"``), ``spelled`` keeps them (``"du lac"``).
	"""

	name: str
	type: str | None
	direction: str | None
	key: str
	spelled: str

	@property
	def display(self) -> str:
		"""``rue Principale``, ``boulevard Saint-Laurent Ouest``; an ordinal before its type: ``3e Avenue``."""
		if self.type and _ORDINAL.match(fold(self.name)):
			return " ".join(p for p in (self.name, self.type.capitalize(), self.direction) if p)
		return " ".join(part for part in (self.type, self.name, self.direction) if part)


@lru_cache(maxsize=65536)
def parse_street(text: str) -> Street:
	"""Split a street into type, name and direction (``"boul. St-Laurent O."`` → boulevard, Saint-Laurent, Ouest)."""
	tokens = (text or "").split()
	kind = direction = None
	if len(tokens) >= 2 and (found := _TYPES_BEFORE.get(fold(tokens[0]))):
		kind, tokens = found, tokens[1:]
	if (
		len(tokens) >= 2
		and (found := _DIRECTIONS.get(fold(tokens[-1])))
		and fold(tokens[-2]) not in _PARTICLES
	):
		direction, tokens = found, tokens[:-1]
	if kind is None and len(tokens) >= 2 and (found := _TYPES_AFTER.get(fold(tokens[-1]))):
		kind, tokens = found, tokens[:-1]
	name = _display(" ".join(tokens), capitalise_particle=False)
	key = name_key(name)
	if not key:
		raise InvalidInput("{0} is not a street name", (text or "").strip())
	return Street(name, kind, direction, key, name_key(name, particles=True))


@dataclass(frozen=True, slots=True)
class NormalisedAddress:
	"""A free-text address read into its parts (display forms) and matching keys."""

	text: str
	civic: str | None
	unit: str | None
	street: Street | None
	municipality: str | None
	municipality_key: str | None
	province: str | None
	postal_code: str | None
	other_reading: tuple[str, str] | None = None  # (civic, unit) when "12-34" reads both ways

	@property
	def label(self) -> str:
		"""One line: ``123 rue Principale, app. 4, Sainte-Clotilde QC J0L 1W0``."""
		first = " ".join(p for p in (self.civic, self.street.display if self.street else None) if p)
		town = " ".join(p for p in (self.municipality, self.province, self.postal_code) if p)
		return ", ".join(p for p in (first, f"app. {self.unit}" if self.unit else None, town) if p)

	def to_dict(self) -> dict[str, Any]:
		street = self.street
		return {
			"civic": self.civic,
			"unit": self.unit,
			"street": street.display if street else None,
			"street_name": street.name if street else None,
			"street_type": street.type if street else None,
			"direction": street.direction if street else None,
			"municipality": self.municipality,
			"province": self.province,
			"postal_code": self.postal_code,
			"label": self.label,
		}


def normalise_address(text: str, municipalities: Collection[str] | None = None) -> NormalisedAddress:
	"""Read a free-text Quebec address; ``municipalities`` (keys, see :func:`name_key`) helps split text without commas.

	Raises InvalidInput for an empty text or a postal code that is not a Canadian one.
	"""
	original = text or ""
	rest = " ".join(unicodedata.normalize("NFC", original.translate(_TRANSLATE)).split())
	if not rest.strip(" ,."):
		raise InvalidInput("The address is empty")
	rest = _COUNTRY.sub("", rest).rstrip(" ,")

	postal_code = None
	shapes = list(_POSTAL_SHAPE.finditer(rest))
	if shapes:
		last = shapes[-1]
		postal_code = normalise_postal_code(last.group(0))
		rest = (rest[: last.start()] + rest[last.end() :]).strip(" ,")
	province, rest = _take_province(rest)
	if postal_code is None and (truncated := _POSTAL_TRUNCATED.search(rest)):
		raise InvalidInput("{0} is not a valid Canadian postal code (A1A 1A1)", truncated.group(1))

	unit = None
	for pattern in (_UNIT, _HASH_UNIT):
		for found in pattern.finditer(rest):
			unit = unit or found.group(1).upper()
		rest = pattern.sub(" ", rest)

	parts = _parts(rest)
	civic, other_reading = None, None
	if parts:
		civic, pair_unit, other_reading, parts[0] = _take_civic(parts[0])
		unit = unit or pair_unit
	if parts and not parts[0] and len(parts) > 1:
		parts = parts[1:]
	street_text, town_text = (parts[0], parts[-1]) if len(parts) > 1 else (parts[0] if parts else "", None)
	if town_text is None and street_text:
		street_text, town_text = _split_municipality(street_text, municipalities)

	street = parse_street(street_text) if street_text and fold(street_text) else None
	municipality = _display(town_text, capitalise_particle=True) if town_text and fold(town_text) else None
	return NormalisedAddress(
		text=original,
		civic=civic,
		unit=unit,
		street=street,
		municipality=municipality,
		municipality_key=name_key(municipality) if municipality else None,
		province=province,
		postal_code=postal_code,
		other_reading=other_reading,
	)


def _parts(text: str) -> list[str]:
	"""Comma-separated parts, empty ones dropped, a civic number alone joined to the street after it."""
	parts = [" ".join(p.split()) for p in text.split(",")]
	parts = [p for p in parts if p.strip(" .")]
	if len(parts) > 1 and re.fullmatch(r"\d+[A-Za-z]?(?:\s*-\s*\d+[A-Za-z]?)?", parts[0]):
		parts[:2] = [f"{parts[0]} {parts[1]}"]
	return parts


def _take_province(text: str) -> tuple[str | None, str]:
	if found := _PROVINCE_CODE.search(text):
		code = fold(found.group(1)).replace(" ", "")
		return ("QC" if code in {"qc", "pq"} else code.upper()), text[: found.start()].rstrip(" ,(")
	if found := _PROVINCE_PARENS.search(text):
		return _PROVINCE_NAMES[fold(found.group(1))], text[: found.start()].rstrip(" ,")
	parts = _parts(text)
	if len(parts) >= 3 and (code := _PROVINCE_NAMES.get(fold(parts[-1]))):
		return code, text[: text.rfind(",")].rstrip(" ,")
	return None, text


def _take_civic(part: str) -> tuple[str | None, str | None, tuple[str, str] | None, str]:
	"""(civic, unit, other reading, rest of the part) from the first word of ``part``."""
	part = _SPACED_HYPHEN.sub(r"\1-\2", part)
	first, _, rest = part.partition(" ")
	if found := _CIVIC.match(first):
		if found.group(2) and _ORDINAL.match(fold(first)) and _only_a_type(rest):
			return None, None, None, part  # "3e Avenue": an ordinal street, no civic number
		return first.upper(), None, None, rest
	if found := _CIVIC_LETTER.match(first):
		return f"{found.group(1)}{found.group(2).upper()}", None, None, rest
	if found := _CIVIC_PAIR.match(first):
		a, b = found.group(1).upper(), found.group(2).upper()
		if len(a.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) > len(b.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")):
			return a, b, (b, a), rest
		return b, a, (a, b), rest
	return None, None, None, part


def _split_municipality(text: str, municipalities: Collection[str] | None) -> tuple[str, str | None]:
	"""Split ``"rue Principale Sainte-Clotilde"`` into street and municipality (see the module docstring)."""
	tokens = text.split()
	if municipalities and name_key(text) in municipalities:
		return "", text
	if municipalities:
		for i in range(1, len(tokens)):
			if _has_name(tokens[:i]) and name_key(" ".join(tokens[i:])) in municipalities:
				return " ".join(tokens[:i]), " ".join(tokens[i:])
	for i in range(1, len(tokens)):
		if _SAINT_WORD.match(tokens[i]) and _has_name(tokens[:i]):
			return " ".join(tokens[:i]), " ".join(tokens[i:])
	return text, None


def _has_name(tokens: list[str]) -> bool:
	"""Whether these words hold a street name, not only a street type."""
	return not (len(tokens) == 1 and fold(tokens[0]) in _ALL_TYPES)


def _only_a_type(text: str) -> bool:
	"""Whether ``text`` is a street type alone, perhaps with a direction (``"Avenue Nord"``)."""
	tokens = [fold(t) for t in text.split()]
	if len(tokens) == 2 and tokens[1] in _DIRECTIONS:
		tokens = tokens[:1]
	return len(tokens) == 1 and tokens[0] in _ALL_TYPES
