"""The flow editor (/app/flow-editor/<template>) in a real browser, as an FSM Manager in French
and in English (see desk_browser.DeskBrowserCase): build a template with three steps and a
group, drag a step to reorder its peers and see depends_on rewritten, see an invalid condition
on its step, save, and dry-run it against a customer of the demo ISP."""

import json

import frappe

from gigafibre_fsm.gigafibre_integrations import demo
from gigafibre_fsm.gigafibre_integrations.tests.desk_browser import DeskBrowserCase
from gigafibre_fsm.test_utils import step

WORDS = {
	"fr": {
		"add": "Ajouter une étape",
		"unknown": "Opérateur inconnu",
		"valid": "Valide",
		"manual": "Lancé à la main",
		"signed": "Contrat signé",
	},
	"en": {
		"add": "Add step",
		"unknown": "Unknown operator",
		"valid": "Valid",
		"manual": "Started by hand",
		"signed": "Contract signed",
	},
}


class TestFlowEditorInBrowser(DeskBrowserCase):
	def make_template(self) -> str:
		doc = frappe.get_doc(
			{
				"doctype": "Flow Template",
				"title": f"Accueil client (test {frappe.generate_hash(length=6)})",
				"category": "Project",
				"kind": "other_project",
				"applies_to": "Customer",
				"trigger_event": "manual",
				"enabled": 0,
				"steps": [
					step(
						"s1",
						"create_todo",
						{"description": "Appeler {{doc.name}}"},
						label="Appeler le client",
					)
				],
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		self.addCleanup(
			lambda: frappe.delete_doc("Flow Template", doc.name, force=True) or frappe.db.commit()
		)
		return doc.name

	def build_reorder_save_and_dry_run(self, who: str, lang: str):
		from playwright.sync_api import expect

		words = WORDS[lang]
		template = self.make_template()
		page = self.open_as(who, f"/app/flow-editor/{template}")
		editor = page.locator('[data-testid="flow-editor"]')
		steps = editor.locator('[data-testid="step"]')
		expect(steps).to_have_count(1, timeout=120_000)
		expect(editor.locator('[data-testid="add-step"]')).to_have_text(words["add"])
		# the trigger's events by their label, never their key
		trigger = editor.locator('[data-testid="trigger-event"]')
		expect(trigger.locator("option:checked")).to_have_text(words["manual"])
		expect(trigger.locator('option[value="on_contract_signed"]')).to_have_text(words["signed"])
		self.assertEqual([t for t in trigger.locator("option").all_inner_texts() if t.startswith("on_")], [])

		def item(step_id):
			return editor.locator(f'[data-testid="step"][data-step="{step_id}"]')

		def select(step_id):
			item(step_id).locator(".gf-step").first.click()

		def label(text):
			editor.locator('[data-testid="step-label"]').fill(text)

		# a group at the root, then two steps in it (the second after the first)
		editor.locator('[data-testid="add-group"]').click()
		label("Préparation")
		editor.locator('[data-testid="add-step"]').click()  # the group is selected: its child
		label("Réserver le matériel")
		editor.locator('input[data-field="description"]').fill("Réserver pour {{doc.name}}")
		select("s2")
		editor.locator('[data-testid="add-step"]').click()
		label("Confirmer le rendez-vous")
		editor.locator('input[data-field="description"]').fill("Confirmer avec {{doc.customer_name}}")
		editor.locator(".gf-add-dep").select_option("s3")
		expect(steps).to_have_count(4)
		expect(item("s4").locator('[data-testid="dependency"]')).to_have_text("Réserver le matériel")
		expect(editor.locator('[data-testid="validity"]')).to_have_text(words["valid"], timeout=30_000)
		self.shot(page, f"flow-editor-built-{lang}")

		# drag the second step of the group above the first: the chain follows the new order
		group = item("s2").locator(".gf-children")
		handle = item("s4").locator(".gf-drag").bounding_box()
		target = item("s3").locator(".gf-step").bounding_box()
		page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
		page.mouse.down()
		page.mouse.move(handle["x"] + 4, handle["y"] - 4, steps=4)
		page.mouse.move(target["x"] + 30, target["y"] + 4, steps=12)
		page.mouse.up()
		expect(group.locator(':scope > [data-testid="step"]').first).to_have_attribute("data-step", "s4")
		expect(item("s3").locator('[data-testid="dependency"]')).to_have_text("Confirmer le rendez-vous")
		expect(item("s4").locator('[data-testid="dependency"]')).to_have_count(0)
		self.shot(page, f"flow-editor-reordered-{lang}")

		# an invalid condition is shown on its step; a valid one is rendered readably
		select("s3")
		condition = editor.locator('[data-testid="step-condition"]')
		condition.fill('{"nope": [{"var": "doc.name"}, 1]}')
		error = item("s3").locator('[data-testid="step-error"]')
		expect(error).to_contain_text(words["unknown"])
		expect(editor.locator('[data-testid="validity"]')).not_to_have_text(words["valid"])
		self.shot(page, f"flow-editor-invalid-{lang}")
		condition.fill('{"!=": [{"var": "doc.name"}, ""]}')
		expect(error).to_have_count(0)
		expect(editor.locator('[data-testid="validity"]')).to_have_text(words["valid"], timeout=30_000)

		page.locator(".page-actions .primary-action").click()
		saved = self.wait_for(lambda: self.saved_steps(template).get("s3", {}).get("depends_on") == ["s4"])
		self.assertTrue(saved, self.saved_steps(template))
		stored = self.saved_steps(template)
		self.assertEqual(set(stored), {"s1", "s2", "s3", "s4"})
		self.assertEqual((stored["s2"]["kind"], stored["s2"]["parent_step"]), ("group", None))
		self.assertEqual((stored["s3"]["parent_step"], stored["s4"]["parent_step"]), ("s2", "s2"))
		self.assertEqual(stored["s4"]["depends_on"], [])
		self.assertEqual(stored["s3"]["condition"], {"!=": [{"var": "doc.name"}, ""]})
		self.assertEqual(stored["s4"]["config"], {"description": "Confirmer avec {{doc.customer_name}}"})
		self.assertEqual(stored["s3"]["order"] > stored["s4"]["order"], True)  # stored in the new order

		# a dry run against a customer of the demo
		customer = demo.read_manifest()["documents"]["Customer"][0]
		reference = editor.locator('input[data-fieldname="reference"]')
		reference.fill(customer)
		with page.expect_response(lambda r: "frappe.client.validate_link" in r.url):
			reference.press("Tab")  # the Link control checks the name, then holds it
		page.wait_for_timeout(500)
		editor.locator('[data-testid="dry-run"]').click()
		result = editor.locator('[data-testid="dry-run-result"]')
		expect(result).to_be_visible(timeout=60_000)
		# a group is not a step that runs: its children do, in the new order
		ran = result.locator(".gf-dry-step")
		expect(ran).to_have_count(3)
		expect(ran.nth(0)).to_contain_text("Appeler le client")
		expect(ran.nth(1)).to_contain_text("Confirmer le rendez-vous")
		expect(ran.nth(2)).to_contain_text(f"Réserver pour {customer}")
		self.shot(page, f"flow-editor-dry-run-{lang}")
		self.assert_no_console_errors()

	def saved_steps(self, template: str) -> dict:
		frappe.db.commit()
		rows = frappe.get_all(
			"Flow Step",
			filters={"parent": template, "parenttype": "Flow Template"},
			fields=["step_id", "kind", "parent_step", "depends_on", "condition", "config", "idx"],
			order_by="idx",
		)
		return {
			r.step_id: {
				"kind": r.kind,
				"parent_step": r.parent_step or None,
				"depends_on": json.loads(r.depends_on or "[]"),
				"condition": json.loads(r.condition) if r.condition else None,
				"config": json.loads(r.config or "{}"),
				"order": r.idx,
			}
			for r in rows
		}

	def test_flow_editor_in_french(self):
		self.build_reorder_save_and_dry_run("manager", "fr")

	def test_flow_editor_in_english(self):
		self.build_reorder_save_and_dry_run("manager_en", "en")
