# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import json

import frappe

from gigafibre_fsm.customers import footprint
from gigafibre_fsm.customers.tests.test_check_address import letters, make_plan_item, square
from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.testing import IntegrationTestCase


def make_zone(**kw):
	zone_id = kw.pop("zone_id", f"Z-{letters()}")
	return frappe.get_doc(
		{
			"doctype": "Service Zone",
			"zone_id": zone_id,
			"zone_name": kw.pop("zone_name", zone_id),
			"connection_type": kw.pop("connection_type", "FTTH"),
			**kw,
		}
	)


class TestServiceZone(IntegrationTestCase):
	def test_a_pasted_feature_keeps_its_geometry(self):
		geometry = square(-73.70, 45.14, -73.66, 45.18)
		feature = {"type": "Feature", "properties": {"zone": "x"}, "geometry": geometry}
		zone = make_zone(geometry=json.dumps(feature, indent=2)).insert()
		self.assertEqual(zone.name, zone.zone_id)
		self.assertEqual(json.loads(zone.geometry), geometry)
		self.assertEqual(zone.served, 1)

	def test_bad_geometries_are_refused(self):
		bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
		point = {"type": "Point", "coordinates": [-73.68, 45.16]}
		for text in ("{not json", json.dumps(bow_tie), json.dumps(point)):
			with self.subTest(text=text), self.assertRaises(GigafibreValidationError):
				make_zone(geometry=text).insert()
		self.assertTrue(make_zone(geometry="").insert().name)  # a zone known only by its addresses

	def test_a_plan_listed_twice_is_refused(self):
		plan = make_plan_item("Fibre 100", 49.95, 100, 20)
		with self.assertRaises(GigafibreValidationError):
			make_zone(plans=[{"item_code": plan}, {"item_code": plan, "price": 40}]).insert()
		zone = make_zone(plans=[{"item_code": plan, "price": 40}]).insert()
		self.assertEqual(zone.plans[0].item_name, "Fibre 100")

	def test_saving_a_zone_rebuilds_the_footprint(self):
		zone = make_zone(geometry=json.dumps(square(-10.2, 10.1, -10.1, 10.2))).insert()
		built = footprint.get_footprint()
		self.assertIn(zone.name, built.zones)
		zone.zone_name = "Renamed"
		zone.save()
		rebuilt = footprint.get_footprint()
		self.assertIsNot(rebuilt, built)
		self.assertEqual(rebuilt.zones[zone.name].name, "Renamed")
		self.assertEqual(rebuilt.zone_at(10.15, -10.15).id, zone.name)
		zone.delete()
		self.assertNotIn(zone.name, footprint.get_footprint().zones)
