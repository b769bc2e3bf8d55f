# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe

from gigafibre_fsm.customers import footprint_import
from gigafibre_fsm.customers.tests.test_check_address import footprint_sources, make_plan_item
from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.testing import IntegrationTestCase


def count(doctype: str, zones) -> int:
	field = "name" if doctype == "Service Zone" else "zone"
	return frappe.db.count(doctype, {field: ["in", list(zones)]})


class TestServiceAddress(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.fib100 = make_plan_item("Fibre 100", 49.95, 100, 20)
		cls.fib500 = make_plan_item("Fibre 500", 69.95, 500, 100)

	def sources(self, **kw) -> dict:
		return footprint_sources(self.fib100, self.fib500, **kw)

	def test_a_reimport_changes_nothing_and_updates_in_place(self):
		src = self.sources()
		first = footprint_import.import_footprint(src["csv"], src["geojson"])
		self.assertEqual(first["zones"], {"created": 3, "updated": 0, "unchanged": 0})
		counts = ("created", "updated", "unchanged")
		self.assertEqual([first["addresses"][c] for c in counts], [6, 0, 0])
		again = footprint_import.import_footprint(src["csv"], src["geojson"])
		self.assertEqual(again["zones"], {"created": 0, "updated": 0, "unchanged": 3})
		self.assertEqual([again["addresses"][c] for c in counts], [0, 0, 6])
		self.assertEqual(again["skipped"], [])
		self.assertEqual(
			(count("Service Zone", src["zones"]), count("Service Address", src["zones"])), (3, 6)
		)

		z1 = src["zones"][0]
		plans = frappe.get_all("Service Zone Plan", {"parent": z1}, ["item_code", "price"], order_by="idx")
		self.assertEqual([(p.item_code, p.price) for p in plans], [(self.fib100, 44.95), (self.fib500, 0)])
		row = frappe.get_all(
			"Service Address",
			{"zone": z1, "civic": "123", "street_name": "Principale"},
			["name", "street", "street_type", "match_key", "latitude", "address_label"],
		)[0]
		self.assertEqual((row.street, row.street_type), ("rue Principale", "rue"))
		self.assertAlmostEqual(row.latitude, 45.161, places=6)
		self.assertIn(src["town"], row.address_label)

		# one address moved: a dry run counts it and writes nothing, the import updates that row
		moved = src["csv"].replace("45.1610,-73.6800", "45.1612,-73.6801")
		dry = footprint_import.import_footprint(moved, None, dry_run=True)
		self.assertEqual((dry["addresses"]["updated"], dry["addresses"]["unchanged"]), (1, 5))
		self.assertAlmostEqual(frappe.db.get_value("Service Address", row.name, "latitude"), 45.161, places=6)
		done = footprint_import.import_footprint(moved, None)
		self.assertEqual((done["addresses"]["updated"], done["zones"]["created"]), (1, 0))
		self.assertAlmostEqual(
			frappe.db.get_value("Service Address", row.name, "latitude"), 45.1612, places=6
		)
		self.assertEqual(count("Service Address", src["zones"]), 6)

	def test_a_bad_line_refuses_the_whole_import(self):
		bad = self.sources(extra_rows=["12b4,,rue Marcil,{town},J0L 1W0,45.1450,-73.6900,{z1},FTTH,"])
		with self.assertRaises(GigafibreValidationError) as caught:
			footprint_import.import_footprint(bad["csv"], bad["geojson"])
		self.assertIn("8", str(caught.exception))  # the header is line 1: the bad line is line 8
		self.assertEqual(
			(count("Service Zone", bad["zones"]), count("Service Address", bad["zones"])), (0, 0)
		)

		unknown_zone = self.sources(extra_rows=["40,,rue Marcil,{town},,,,Z9-nowhere,FTTH,"])
		with self.assertRaises(GigafibreValidationError):
			footprint_import.import_footprint(unknown_zone["csv"], unknown_zone["geojson"])
		self.assertEqual(count("Service Zone", unknown_zone["zones"]), 0)

		unknown_plan = self.sources()
		geojson = unknown_plan["geojson"].replace(self.fib100, "_GF no such plan")
		with self.assertRaises(GigafibreValidationError):
			footprint_import.import_footprint(unknown_plan["csv"], geojson)
		self.assertEqual(count("Service Zone", unknown_plan["zones"]), 0)

	def test_a_line_with_an_unknown_service_location_is_skipped(self):
		src = self.sources(location="LOC-NO-SUCH-ONE")
		report = footprint_import.import_footprint(src["csv"], src["geojson"])
		self.assertEqual([s["line"] for s in report["skipped"]], [2])
		self.assertIn("LOC-NO-SUCH-ONE", report["skipped"][0]["reason"])
		self.assertEqual(report["addresses"]["created"], 5)

	def test_an_address_typed_in_the_desk_reads_as_the_import_does(self):
		src = self.sources()
		footprint_import.import_footprint(None, src["geojson"])
		z2 = src["zones"][1]
		doc = frappe.get_doc(
			{
				"doctype": "Service Address",
				"civic": "12-a",
				"unit": "3",
				"street": "rue st-jean",
				"municipality": src["town"],
				"postal_code": "j0l1w0",
				"zone": z2,
				"connection_type": "FTTB",
				"latitude": 45.15,
				"longitude": -73.64,
			}
		).insert()
		self.assertEqual((doc.civic, doc.street, doc.postal_code), ("12A", "rue Saint-Jean", "J0L 1W0"))
		self.assertEqual((doc.street_name, doc.street_type), ("Saint-Jean", "rue"))
		self.assertTrue(doc.match_key.endswith("|rue||12A|3"), doc.match_key)

		twin = frappe.copy_doc(doc)
		twin.street = "Rue Saint-Jean"
		with self.assertRaises(GigafibreValidationError):
			twin.insert()
		twin.civic = "douze"
		with self.assertRaises(GigafibreValidationError):
			twin.insert()

		# a csv line of the same address updates the typed one
		csv = (
			"civic_number,unit,street,municipality,zone,connection_type\n"
			f"12A,3,rue Saint-Jean,{src['town']},{z2},FTTH\n"
		)
		report = footprint_import.import_footprint(csv, None)
		self.assertEqual((report["addresses"]["created"], report["addresses"]["updated"]), (0, 1))
		self.assertEqual(frappe.db.get_value("Service Address", doc.name, "connection_type"), "FTTH")
