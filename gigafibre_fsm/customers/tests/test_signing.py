"""Contract signature in a real bench: the residential link (SMS through a fake Twilio, the
evidence, once only, revocation, refused tokens) and DocuSeal (a fake DocuSeal completes a
submission and delivers its webhook to the served site)."""

import base64
import json
from datetime import UTC, datetime, timedelta

import frappe
import jwt
import requests

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.core import contract_tokens
from gigafibre_fsm.customers import signing
from gigafibre_fsm.fakepeers.docuseal import FakeDocuSeal
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.settings import get_settings
from gigafibre_fsm.test_utils import (
	ensure_outgoing_email,
	make_contract,
	make_customer,
	make_user,
	random_phone,
	settings_for_update,
	unique,
	use_fake_twilio,
)
from gigafibre_fsm.testing import IntegrationTestCase
from gigafibre_fsm.testing_http import serve_site

REFUSED = "This link has expired or is no longer valid"
SETTINGS_FIELDS = (
	"twilio_account_sid",
	"twilio_from_number",
	"twilio_api_base",
	"docuseal_url",
	"docuseal_template_id",
	"docuseal_submitter_role",
)
SECRET_FIELDS = ("twilio_auth_token", "docuseal_api_key", "docuseal_webhook_secret")
WEBHOOK = "/api/method/gigafibre_fsm.api.webhooks.docuseal"


def signed_runs(contract: str) -> int:
	return frappe.db.count(
		"Flow Run",
		{
			"trigger_event": "on_contract_signed",
			"reference_doctype": "Service Contract",
			"reference_name": contract,
		},
	)


def b64(data: dict) -> str:
	return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class SigningCase(IntegrationTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		settings = settings_for_update()
		before = {f: settings.get(f) for f in SETTINGS_FIELDS}
		for f in SECRET_FIELDS:
			before[f] = settings.get_password(f, raise_exception=False)
		self.settings_before = before
		self.addCleanup(self._restore_settings, before)
		self.twilio = FakeTwilio().start()
		self.addCleanup(self.twilio.stop)
		use_fake_twilio(self.twilio)
		ensure_outgoing_email()
		self.assertTrue(get_settings().token_secret)
		self.phone = random_phone()
		self.customer = make_customer(
			cell_phone=self.phone, email_billing=f"{unique('c').lower()}@example.com"
		)
		self.contract = make_contract(self.customer.name, contract_type="Residential", duration_months=24)
		frappe.get_doc(
			{
				"doctype": "Service Subscription",
				"customer": self.customer.name,
				"service_contract": self.contract.name,
				"status": "En attente",
				"plan": self._plan(),
				"plan_name": "Fibre 500",
				"monthly_price": 50,
			}
		).insert(ignore_permissions=True)

	def _plan(self) -> str:
		code = unique("PLAN")
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": code,
				"item_name": code,
				"item_group": frappe.db.get_value("Item Group", {"is_group": 0}, "name"),
				"stock_uom": "Nos",
				"is_stock_item": 0,
			}
		).insert(ignore_permissions=True)
		return code

	def _restore_settings(self, before):
		frappe.set_user("Administrator")
		settings = settings_for_update()
		settings.update(
			{k: v or ("" if k not in ("docuseal_template_id",) else 0) for k, v in before.items()}
		)
		settings.save()

	def token_of(self, message: dict) -> str:
		body = message["body"]
		self.assertIn("/c/", body)
		return body.split("/c/", 1)[1].split()[0]

	def refused(self, fn, *args):
		with self.assertRaises(signing.ContractLinkError) as caught:
			fn(*args)
		frappe.clear_messages()
		return str(caught.exception)


class TestResidentialLink(SigningCase):
	def test_the_link_is_emailed_when_the_site_can_send_mail_and_texted_either_way(self):
		# No outgoing account first (the ones the site has are set aside, then put back).
		accounts = frappe.get_all(
			"Email Account", filters={"enable_outgoing": 1}, fields=["name", "default_outgoing"]
		)
		for row in accounts:
			frappe.db.set_value("Email Account", row.name, {"enable_outgoing": 0, "default_outgoing": 0})
			self.addCleanup(
				frappe.db.set_value,
				"Email Account",
				row.name,
				{"enable_outgoing": 1, "default_outgoing": row.default_outgoing},
			)
		frappe.local.outgoing_email_account = {}
		answer = api.send_contract(self.contract.name)
		frappe.clear_messages()
		self.assertEqual((answer["sms"], answer["email"]), (True, False))
		self.assertEqual(len(self.twilio.sent), 1)
		self.assertEqual(frappe.db.get_value("Service Contract", self.contract.name, "status"), "Envoyé")

		account = frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": unique("Outgoing"),
				"email_id": f"{unique('noreply').lower()}@example.com",
				"enable_outgoing": 1,
				"default_outgoing": 1,
				"smtp_server": "localhost",
				"no_smtp_authentication": 1,
			}
		).insert(ignore_permissions=True)
		self.addCleanup(frappe.delete_doc, "Email Account", account.name, force=True)
		self.addCleanup(setattr, frappe.local, "outgoing_email_account", {})
		frappe.local.outgoing_email_account = {}
		answer = api.send_contract(self.contract.name)
		self.assertEqual((answer["sms"], answer["email"]), (True, True))
		self.assertEqual(len(self.twilio.sent), 2)
		email = self.customer.email_billing
		queued = frappe.get_all("Email Queue Recipient", filters={"recipient": email}, pluck="parent")
		self.assertEqual(len(queued), 1)

	def test_send_then_accept_signs_once_with_the_evidence(self):
		answer = api.send_contract(self.contract.name)
		self.assertEqual(answer["status"], "Envoyé")
		self.assertIn("/c/", answer["link"])
		(sms,) = self.twilio.sent
		self.assertEqual(sms["to"], self.phone)
		token = self.token_of(sms)
		self.assertTrue(answer["link"].endswith(token))
		self.assertEqual(frappe.db.get_value("Service Contract", self.contract.name, "status"), "Envoyé")

		frappe.set_user("Guest")
		shown = api.get_contract(token, "fr")
		self.assertFalse(shown["already_signed"])
		self.assertIn("2,50 $", shown["text"])  # TPS 5 %
		self.assertIn("4,99 $", shown["text"])  # TVQ 9.975 %
		self.assertIn("57,49 $", shown["text"])
		self.assertIn("50,00 $", shown["text"])
		first = signing.accept(token, "  Marie   Tremblay ", True, "203.0.113.9", "Mozilla/5.0 test", "fr")
		self.assertFalse(first["already_signed"])
		second = signing.accept(token, "Marie Tremblay", True, "203.0.113.9", "Mozilla/5.0 test", "fr")
		self.assertTrue(second["already_signed"])
		frappe.set_user("Administrator")

		doc = frappe.get_doc("Service Contract", self.contract.name)
		self.assertEqual(doc.status, "Signé")
		self.assertTrue(doc.signed_on)
		self.assertEqual(doc.signature_source, "Residential link")
		self.assertEqual(doc.signed_by_name, "Marie Tremblay")
		self.assertEqual(doc.signed_ip, "203.0.113.9")
		self.assertEqual(doc.signed_user_agent, "Mozilla/5.0 test")
		self.assertEqual(doc.signed_text_sha256, shown["sha256"])
		self.assertEqual(signing.mark_signed(doc.name, "DocuSeal")["already_signed"], True)
		runs = signed_runs(doc.name)
		self.assertGreaterEqual(runs, 1)  # the seeded residential templates
		signing.mark_signed(doc.name, "Residential link")
		self.assertEqual(signed_runs(doc.name), runs)

	def test_accept_needs_the_name_and_the_box(self):
		token = self.token_of_sent()
		for name, accepted in (("", True), ("Marie Tremblay", False)):
			with self.assertRaises(frappe.ValidationError):
				signing.accept(token, name, accepted)
			frappe.clear_messages()
		self.assertEqual(frappe.db.get_value("Service Contract", self.contract.name, "status"), "Envoyé")

	def token_of_sent(self) -> str:
		api.send_contract(self.contract.name)
		return self.token_of(self.twilio.sent[-1])

	def test_a_new_link_revokes_the_old_one(self):
		old = self.token_of_sent()
		new = self.token_of_sent()
		self.assertNotEqual(old, new)
		self.assertEqual(self.refused(signing.view, old), REFUSED)
		self.assertEqual(self.refused(signing.accept, old, "Marie", True), REFUSED)
		self.assertFalse(signing.view(new)["already_signed"])

	def test_every_bad_token_gets_the_same_answer(self):
		good = self.token_of_sent()
		secret = get_settings().token_secret
		now = datetime.now(UTC)
		expired = contract_tokens.issue(secret, self.contract.name, now=now - timedelta(days=8))
		frappe.db.set_value("Service Contract", self.contract.name, "signing_jti", expired.jti)
		header, claims, _sig = good.split(".")
		payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
		forged = f"{header}.{b64({**payload, 'sub': 'CTR-99999'})}.{_sig}"
		alg_none = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{claims}."
		key = contract_tokens.signing_key(secret)
		wrong_scope = jwt.encode({**payload, "scope": "technician"}, key, algorithm="HS256")
		messages = {
			self.refused(signing.view, t)
			for t in (expired.token, forged, alg_none, wrong_scope, "garbage", "")
		}
		messages |= {
			self.refused(signing.accept, t, "Marie", True) for t in (expired.token, forged, alg_none)
		}
		self.assertEqual(messages, {REFUSED})
		self.assertEqual(frappe.db.get_value("Service Contract", self.contract.name, "status"), "Envoyé")

	def test_send_needs_customer_service(self):
		user = make_user(["Technician"])
		frappe.set_user(user.name)
		self.addCleanup(frappe.set_user, "Administrator")
		with self.assertRaises(frappe.PermissionError):
			api.send_contract(self.contract.name)
		frappe.clear_messages()
		frappe.set_user("Administrator")
		self.assertEqual(len(self.twilio.sent), 0)


class TestDocuSeal(SigningCase):
	def test_completed_submission_signs_once_and_a_wrong_secret_changes_nothing(self):
		secret = unique("whsec")
		peer = FakeDocuSeal(webhook_secret={"X-Gigafibre-Webhook-Secret": secret}).start()
		self.addCleanup(peer.stop)
		peer.add_template(template_id=4242)
		settings = settings_for_update()
		settings.update(
			{
				"docuseal_url": f"{peer.url}/api",
				"docuseal_api_key": peer.api_key,
				"docuseal_webhook_secret": secret,
				"docuseal_template_id": 4242,
				"docuseal_submitter_role": "Client",
			}
		)
		settings.save()
		contract = make_contract(self.customer.name, contract_type="Commercial", duration_months=36)
		answer = signing.send_contract(contract.name)
		self.assertEqual(answer["status"], "Envoyé")
		submission = int(frappe.db.get_value("Service Contract", contract.name, "docuseal_submission"))
		self.assertIn(submission, peer.submissions)

		frappe.db.commit()  # the server threads read with their own connections
		self.addCleanup(lambda: (self._restore_settings(self.settings_before), frappe.db.commit()))
		self.addCleanup(self._delete_committed, contract.name)
		with serve_site(frappe.local.site) as base:
			# a forged delivery with the wrong secret: refused, nothing signed
			body = json.dumps(
				{
					"event_type": "submission.completed",
					"timestamp": "2026-01-01T00:00:00.000Z",
					"data": {"id": submission, "status": "completed", "completed_at": "x"},
				}
			)
			status = requests.post(
				base + WEBHOOK,
				data=body,
				headers={"Content-Type": "application/json", "X-Gigafibre-Webhook-Secret": "wrong"},
				timeout=30,
			).status_code
			self.assertIn(status, (401, 403))
			frappe.db.rollback()
			self.assertEqual(frappe.db.get_value("Service Contract", contract.name, "status"), "Envoyé")

			deliveries = peer.complete(submission, base + WEBHOOK)
			self.assertEqual([d.last_status for d in deliveries], [200] * len(deliveries))
			frappe.db.rollback()  # a fresh snapshot
			doc = frappe.get_doc("Service Contract", contract.name)
			self.assertEqual(doc.status, "Signé")
			self.assertEqual(doc.signature_source, "DocuSeal")
			runs = signed_runs(contract.name)
			modified = doc.modified
			self.assertEqual(peer.resend(deliveries[-1]), 200)  # DocuSeal's retry
			frappe.db.rollback()
			self.assertEqual(frappe.db.get_value("Service Contract", contract.name, "modified"), modified)
			self.assertEqual(signed_runs(contract.name), runs)
			bad = requests.post(
				base + WEBHOOK,
				data=b"not json",
				headers={"Content-Type": "text/plain", "X-Gigafibre-Webhook-Secret": secret},
				timeout=30,
			)
			self.assertEqual(bad.status_code, 400)

	def _delete_committed(self, contract: str):
		frappe.set_user("Administrator")
		runs = frappe.get_all("Flow Run", {"reference_name": contract}, pluck="name")
		if runs:  # the runs the signature started (a run refuses deletion until cancelled)
			frappe.db.delete("Flow Run Step", {"parent": ["in", runs]})
			frappe.db.delete("Flow Run", {"name": ["in", runs]})
		frappe.delete_doc("Service Contract", contract, force=True, ignore_permissions=True)
		frappe.db.commit()
