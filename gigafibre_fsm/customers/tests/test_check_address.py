"""Serviceability by address end to end: a small footprint imported through the import
function, then checked through the endpoint as different users.

The footprint (the core tests' Sainte-Clotilde one, in towns of a unique name):
	Z1  FTTH  lon -73.70..-73.66, lat 45.14..45.18  FIB100 at 44.95 (zone price), FIB500 at
	          its price list price; install fee 99
	Z2  FTTH  lon -73.66..-73.62, lat 45.14..45.18  every plan; 5 lead days
	Z4  FTTH  not served yet
"""

import json
import random
import string

import frappe
from frappe import _
from frappe.utils import add_days, getdate

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.core.customers.pricing import earliest_install_date
from gigafibre_fsm.customers import footprint, footprint_build, footprint_import
from gigafibre_fsm.exceptions import ForbiddenError, GigafibreValidationError
from gigafibre_fsm.test_utils import make_customer, make_location, make_user, unique
from gigafibre_fsm.testing import IntegrationTestCase

HEADER = "civic_number,unit,street,municipality,postal_code,lat,lon,zone,connection_type,service_location"


def letters(n: int = 7) -> str:
	"""A tag of letters only (hex digits could read as a postal code inside an address)."""
	return "X" + "".join(random.choices(string.ascii_lowercase, k=n))


def make_plan_item(name: str, price: float | None, down: int = 0, up: int = 0) -> str:
	"""An Item (a plan when ``down`` is set) with its monthly price on the plans' price list."""
	item = frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": unique(f"_GF {name}"),
			"item_name": name,
			"item_group": frappe.db.get_value("Item Group", {"is_group": 0}, "name"),
			"stock_uom": "Nos",
			"is_stock_item": 0,
			"gigafibre_down_mbps": down,
			"gigafibre_up_mbps": up,
		}
	).insert(ignore_permissions=True)
	if price is not None:
		make_item_price(item.name, price)
	return item.name


def make_item_price(item_code: str, price: float):
	return frappe.get_doc(
		{
			"doctype": "Item Price",
			"item_code": item_code,
			"price_list": footprint_build.plan_price_list(),
			"price_list_rate": price,
			"uom": "Nos",
		}
	).insert(ignore_permissions=True)


def square(west: float, south: float, east: float, north: float) -> dict:
	ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
	return {"type": "Polygon", "coordinates": [ring]}


def footprint_sources(fib100: str, fib500: str, location: str = "", extra_rows=()) -> dict:
	"""CSV and GeoJSON text of the footprint above, with unique zone ids and town names."""
	tag = letters()
	town, other = f"Sainte-Clotilde-{tag}", f"Napierville-{tag}"
	z1, z2, z4 = f"Z1-{tag}", f"Z2-{tag}", f"Z4-{tag}"
	rows = [
		f"100,,rue Principale,{town},J0L 1W0,45.1600,-73.6800,{z1},FTTH,{location}",
		f"123,,rue Principale,{town},J0L 1W0,45.1610,-73.6800,{z1},FTTH,",
		f"125,,rue Principale,{town},J0L 1W0,45.1620,-73.6800,{z1},FTTH,",
		f"123,,chemin Principal,{town},J0L 1W0,45.1700,-73.6900,{z1},FTTH,",
		f"1500,,montée Bélanger,{town},J0L 1W0,45.1600,-73.6400,{z2},FTTH,",
		f"10,,rue de l'Église,{other},J0J 1L0,45.1860,-73.4050,{z4},FTTH,",
		*(row.format(town=town, z1=z1, z2=z2, z4=z4) for row in extra_rows),
	]

	def feature(zone, name, geometry, **props):
		return {
			"type": "Feature",
			"properties": {"zone": zone, "name": name, "connection_type": "FTTH", **props},
			"geometry": geometry,
		}

	zones = {
		"type": "FeatureCollection",
		"features": [
			feature(
				z1,
				f"Centre {tag}",
				square(-73.70, 45.14, -73.66, 45.18),
				plans={fib100: 44.95, fib500: None},
				install_fee=99,
			),
			feature(z2, f"Est {tag}", square(-73.66, 45.14, -73.62, 45.18), lead_days=5),
			feature(z4, f"Napierville {tag}", square(-73.42, 45.17, -73.38, 45.21), served=False),
		],
	}
	return {
		"town": town,
		"other": other,
		"zones": (z1, z2, z4),
		"csv": "\n".join([HEADER, *rows]) + "\n",
		"geojson": json.dumps(zones),
	}


def plans_of(answer: dict) -> dict:
	return {plan["item_code"]: plan for plan in answer["plans"]}


class TestCheckAddress(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.fib100 = make_plan_item("Fibre 100", 49.95, 100, 20)
		cls.fib500 = make_plan_item("Fibre 500", 69.95, 500, 100)
		cls.customer = make_customer()
		cls.location = make_location(customer=cls.customer.name).name
		cls.src = footprint_sources(cls.fib100, cls.fib500, cls.location)
		cls.town, cls.other = cls.src["town"], cls.src["other"]
		cls.z1, cls.z2, cls.z4 = cls.src["zones"]
		cls.report = footprint_import.import_footprint(cls.src["csv"], cls.src["geojson"])

	def tearDown(self):
		frappe.set_user("Administrator")

	def check(self, address=None, lat=None, lon=None) -> dict:
		return api.check_address(address=address, lat=lat, lon=lon)

	def test_the_import_report(self):
		self.assertEqual(self.report["zones"], {"created": 3, "updated": 0, "unchanged": 0})
		self.assertEqual(self.report["addresses"]["created"], 6)
		self.assertEqual(self.report["skipped"], [])

	def test_exact_address_with_zone_prices_fee_and_date(self):
		r = self.check(f"123, rue Principale, {self.town} QC J0L 1W0")
		self.assertEqual((r["serviceable"], r["reason"], r["match"]["how"]), (True, "served", "exact"))
		self.assertEqual((r["zone"]["id"], r["connection_type"]), (self.z1, "FTTH"))
		plans = plans_of(r)
		self.assertEqual(set(plans), {self.fib100, self.fib500})
		self.assertEqual((plans[self.fib100]["regular_price"], plans[self.fib100]["price"]), (44.95, 44.95))
		self.assertEqual(plans[self.fib500]["price"], 69.95)
		self.assertEqual((plans[self.fib500]["down_mbps"], plans[self.fib500]["up_mbps"]), (500, 100))
		self.assertEqual(r["install_fee"], 99.0)
		self.assertEqual(r["earliest_install_date"], str(earliest_install_date(getdate(), self.z1)))
		self.assertEqual(r["message"], _(r["message_template"]).format(*r["message_params"]))

	def test_typo_matches_fuzzily(self):
		r = self.check(f"125 rue Princpale, {self.town}")
		self.assertEqual((r["serviceable"], r["match"]["how"], r["match"]["civic"]), (True, "fuzzy", "125"))
		self.assertLess(r["match"]["score"], 100)

	def test_two_streets_alike_are_ambiguous(self):
		r = self.check(f"123 Principal, {self.town}")
		self.assertEqual((r["serviceable"], r["reason"]), (False, "ambiguous"))
		self.assertEqual({c["street"] for c in r["candidates"]}, {"rue Principale", "chemin Principal"})

	def test_positions(self):
		r = self.check(lat=45.1600, lon=-73.6800)
		self.assertEqual((r["reason"], r["match"]["how"], r["match"]["civic"]), ("served", "position", "100"))
		r = self.check(lat="45.15", lon="-73.64")  # a GET passes text: no served address near, in Z2
		self.assertEqual((r["serviceable"], r["reason"], r["zone"]["id"]), (True, "in_served_zone", self.z2))
		self.assertTrue({self.fib100, self.fib500} <= set(plans_of(r)))
		self.assertEqual(
			r["earliest_install_date"], str(earliest_install_date(getdate(), self.z2, lead_days=5))
		)
		r = self.check(lat=10, lon=10)
		self.assertEqual((r["serviceable"], r["reason"]), (False, "not_in_footprint"))

	def test_not_served(self):
		r = self.check(f"10 rue de l'Église, {self.other}")
		self.assertEqual(
			(r["serviceable"], r["reason"], r["zone"]["id"]), (False, "zone_not_served", self.z4)
		)
		self.assertEqual(r["plans"], [])
		r = self.check(f"77 rue Inexistante, {self.town}")
		self.assertEqual((r["serviceable"], r["reason"]), (False, "not_in_footprint"))

	def test_promotion_price_until_its_limit(self):
		promo = frappe.get_doc(
			{
				"doctype": "Service Promotion",
				"code": unique("PROMO"),
				"title": "Fibre 500 à 39,95 $",
				"start_date": add_days(getdate(), -1),
				"end_date": add_days(getdate(), 30),
				"rate_or_discount": "Price",
				"price": 39.95,
				"months": 6,
				"use_limit": 2,
				"items": [{"item_code": self.fib500}],
				"zones": [{"zone": self.z1}],
			}
		).insert(ignore_permissions=True)
		self.addCleanup(frappe.delete_doc, "Service Promotion", promo.name, force=1, ignore_permissions=True)
		address = f"123 rue Principale, {self.town}"
		offer = plans_of(self.check(address))[self.fib500]
		self.assertEqual((offer["regular_price"], offer["price"]), (69.95, 39.95))
		self.assertEqual((offer["promotion"]["code"], offer["promotion"]["months"]), (promo.name, 6))
		self.assertIsNone(plans_of(self.check(address))[self.fib100]["promotion"])
		# not in its zone
		self.assertEqual(plans_of(self.check(lat=45.15, lon=-73.64))[self.fib500]["price"], 69.95)

		self.assertTrue(footprint.record_promotion_use(promo.name))
		self.assertEqual(plans_of(self.check(address))[self.fib500]["price"], 39.95)
		self.assertTrue(footprint.record_promotion_use(promo.name))
		self.assertFalse(footprint.record_promotion_use(promo.name))
		self.assertEqual(frappe.db.get_value("Service Promotion", promo.name, "uses"), 2)
		offer = plans_of(self.check(address))[self.fib500]
		self.assertEqual((offer["price"], offer["promotion"]), (69.95, None))

	def test_customer_only_for_customer_service(self):
		address = f"100 rue Principale, {self.town}"
		frappe.set_user(make_user(["Dispatcher"]).name)
		r = self.check(address)
		self.assertEqual(r["service_location"], self.location)
		self.assertEqual((r["customer"], r["customer_name"]), (None, None))
		frappe.set_user(make_user(["Customer Service"]).name)
		r = self.check(address)
		self.assertEqual(r["customer"], self.customer.name)
		self.assertEqual(r["customer_name"], self.customer.customer_name)

	def test_a_technician_is_refused(self):
		frappe.set_user(make_user(["Technician"]).name)
		with self.assertRaises(ForbiddenError):
			self.check(f"123 rue Principale, {self.town}")

	def test_bad_input_is_a_clear_417(self):
		for kwargs in (
			{"address": "1" * 301},
			{"lat": "north", "lon": "-73.68"},
			{"lat": "nan", "lon": "-73.68"},
			{"lat": "45.16"},
			{"lat": "95", "lon": "-73.68"},
			{},
			{"address": "   "},
		):
			with self.subTest(kwargs=kwargs), self.assertRaises(GigafibreValidationError):
				self.check(**kwargs)

	def test_a_zone_change_shows_at_the_next_check(self):
		address = f"123 rue Principale, {self.town}"
		first = footprint.get_footprint()
		self.assertIs(footprint.get_footprint(), first, "built once per version")
		self.assertTrue(self.check(address)["serviceable"])

		zone = frappe.get_doc("Service Zone", self.z1)
		zone.served = 0
		zone.save()
		try:
			r = self.check(address)
			self.assertEqual((r["serviceable"], r["reason"]), (False, "zone_not_served"))
			self.assertIsNot(footprint.get_footprint(), first)
		finally:
			zone.reload()
			zone.served = 1
			zone.save()
		self.assertTrue(self.check(address)["serviceable"])

	def test_a_new_price_shows_at_the_next_check(self):
		"""Needs the Item Price doc_events of hooks.py."""
		plan = make_plan_item("Fibre 2000", None, 2000, 1000)
		self.assertNotIn(plan, plans_of(self.check(lat=45.15, lon=-73.64)))  # no price: not offered
		make_item_price(plan, 109.95)
		self.assertEqual(plans_of(self.check(lat=45.15, lon=-73.64))[plan]["price"], 109.95)
