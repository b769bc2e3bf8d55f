# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import json

import frappe

from gigafibre_fsm.api import flows as api
from gigafibre_fsm.exceptions import ForbiddenError, GigafibreValidationError
from gigafibre_fsm.test_utils import make_template, step
from gigafibre_fsm.testing import IntegrationTestCase


def system_template():
	return frappe.db.get_value("Flow Template", {"seed_key": "residential_installation"}, "name")


class TestFlowTemplate(IntegrationTestCase):
	def test_system_templates_refuse_delete_rename_and_edit(self):
		name = system_template()
		with self.assertRaises(ForbiddenError):
			frappe.delete_doc("Flow Template", name)
		with self.assertRaises(ForbiddenError):
			frappe.rename_doc("Flow Template", name, "FT-RENAMED", force=True)
		doc = frappe.get_doc("Flow Template", name)
		doc.steps[0].label = "Changed"
		with self.assertRaises(ForbiddenError):
			doc.save()
		self.assertTrue(frappe.db.exists("Flow Template", name))

	def test_duplicate_is_editable(self):
		copy = api.duplicate_template(system_template())["template"]
		doc = frappe.get_doc("Flow Template", copy)
		self.assertEqual((doc.is_system, doc.enabled, doc.source_template), (0, 0, system_template()))
		doc.steps[0].label = "Changed"
		doc.save()
		self.assertEqual(doc.version, 2)

	def test_problems_name_steps_by_label(self):
		with self.assertRaises(GigafibreValidationError) as err:
			make_template(
				[
					step("s1", "create_todo", {"description": "a"}, deps=["s2"], label="Appeler"),
					step("s2", "create_todo", {"description": "b"}, deps=["s1"], label="Planifier"),
				]
			)
		self.assertIn("Appeler", str(err.exception))
		self.assertIn("loop", str(err.exception))

	def test_validate_template_api(self):
		draft = {
			"title": "Draft",
			"category": "Agent",
			"kind": "repair",  # a Project kind
			"applies_to": "Issue",
			"trigger_event": "on_insert",
			"trigger_condition": {"method": ["x", "upper"]},
			"steps": [
				{
					"step_id": "s1",
					"label": "Texto",
					"kind": "send_sms",
					"config": {"to": "{{cusomer.cell_phone}}"},
				}
			],
		}
		result = api.validate_template(draft)
		self.assertFalse(result["ok"])
		messages = " | ".join(e["message"] for e in result["errors"])
		self.assertIn("not a Agent kind", messages)
		self.assertIn("method", messages)
		self.assertIn("config.body is required", messages)
		self.assertIn("cusomer", messages)
		self.assertEqual({e["label"] for e in result["errors"] if e["step_id"]}, {"Texto"})
		# the desk's frappe.call sends the draft form-encoded, as its JSON text
		self.assertEqual(api.validate_template(json.dumps(draft)), result)
		self.assertTrue(api.validate_template(system_template())["ok"])

	def test_reorder_api_rewrites_chain(self):
		steps = [
			{"step_id": "s1", "label": "A", "kind": "wait", "config": {}, "depends_on": []},
			{"step_id": "s2", "label": "B", "kind": "wait", "config": {}, "depends_on": ["s1"]},
			{"step_id": "s3", "label": "C", "kind": "wait", "config": {}, "depends_on": ["s2"]},
		]
		new = api.reorder_steps(steps, "s3", 0)
		self.assertEqual([s["step_id"] for s in new], ["s3", "s1", "s2"])
		self.assertEqual([s["depends_on"] for s in new], [[], ["s3"], ["s1"]])
		self.assertEqual(new[1]["depends_on_labels"], ["C"])

	def test_step_ids_are_numbered_and_version_bumps(self):
		tpl = make_template(
			[step(None, "create_todo", {"description": "a"}), step(None, "wait", {"delay_minutes": 5})]
		)
		self.assertEqual([s.step_id for s in tpl.steps], ["s1", "s2"])
		self.assertEqual(tpl.version, 1)
		tpl.steps[1].config = json.dumps({"delay_minutes": 10})
		tpl.save()
		self.assertEqual(tpl.version, 2)
		tpl.description = "no step change"
		tpl.save()
		self.assertEqual(tpl.version, 2)

	def test_catalogs(self):
		cat = api.get_catalogs("Service Contract")
		paths = {v["path"] for v in cat["variables"]["Service Contract"]}
		self.assertIn("doc.contract_type", paths)
		self.assertIn("customer.cell_phone", paths)  # custom field, one level into Customer
		self.assertIn("residential_installation", {k["name"] for k in cat["project_kinds"]})
		self.assertTrue(cat["example_conditions"]["Service Contract"])
