"""Texting the customer from the desk in Chromium (see desk_browser.DeskBrowserCase): Customer
Service opens a customer's Issue, "Send SMS" / "Envoyer un texto" opens the dialog on the cell
phone on file, the message goes through Twilio (the fake peer, which speaks Twilio's documented
Messages API) exactly once and the sent SMS is on the Issue's timeline; a number that texted STOP
is refused, with the server's reason in the dialog, and nothing is sent."""

import frappe
from frappe.utils.background_jobs import get_job
from frappe.utils.password import update_password

from gigafibre_fsm.core.comms import sms as rules
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.gigafibre_integrations.consent import set_consent
from gigafibre_fsm.gigafibre_integrations.tests.desk_browser import PASSWORD, DeskBrowserCase
from gigafibre_fsm.test_utils import (
	make_customer,
	make_user,
	random_phone,
	settings_for_update,
	unique,
	use_fake_twilio,
)

TWILIO = ("twilio_account_sid", "twilio_from_number", "twilio_api_base")
# ERPNext's Issue form reads Support Settings, refused (403) to all but a System Manager and,
# since the app's install allows it, Customer Service (install.allow_reading_support_settings)
ERPNEXT_SUPPORT_SETTINGS = ("Support%20Settings", "No permission for Support Settings")


class TestSmsFromTheDesk(DeskBrowserCase):
	def setUp(self):
		super().setUp()
		settings = settings_for_update()
		before = {f: settings.get(f) for f in TWILIO}
		before["twilio_auth_token"] = settings.get_password("twilio_auth_token", raise_exception=False)
		self.twilio = FakeTwilio(auth_token=unique("tok")).start()
		self.addCleanup(self.twilio.stop)
		use_fake_twilio(self.twilio)
		frappe.db.commit()
		self.addCleanup(self._restore, before)

	def _restore(self, before):
		settings = settings_for_update()
		settings.update({k: v or "" for k, v in before.items()})
		settings.save()
		frappe.db.commit()

	def issue_of_a_customer(self, subject: str):
		number = random_phone()
		customer = make_customer(cell_phone=number)
		issue = frappe.get_doc(
			{"doctype": "Issue", "subject": unique(subject), "customer": customer.name}
		).insert(ignore_permissions=True)
		return number, issue

	def sent_on(self, number: str) -> list[str]:
		frappe.db.commit()  # read what the server committed
		return frappe.get_all(
			"Communication",
			filters={"communication_medium": "SMS", "sent_or_received": "Sent", "phone_no": number},
			pluck="name",
		)

	def run_queued_send(self, communication: str) -> None:
		"""What the short-queue worker does: the job queued after the request's commit (the
		server pushes it just after the commit that made the Communication visible: wait)."""
		job_id = f"gigafibre_fsm:sms_reply:{communication}"  # get_job adds the site's prefix
		job = self.wait_for(lambda: get_job(job_id), timeout=60.0)
		self.assertIsNotNone(job, "the SMS job was queued")
		args = job.kwargs
		if job.get_status() == "queued":  # else a worker of this bench already ran it
			frappe.get_attr(args["method"])(**args["kwargs"])
			job.delete()
		frappe.db.commit()

	def open_dialog(self, who: str, issue: str, button: str):
		from playwright.sync_api import expect

		page = self.open_as(who, f"/app/issue/{issue}")
		send = page.locator('[data-testid="send-sms"]')
		expect(send).to_have_text(button, timeout=120_000)
		send.click()
		dialog = page.locator('[data-testid="sms-dialog"]')
		expect(dialog.locator('[data-fieldname="body"] textarea')).to_be_visible(timeout=60_000)
		return page, dialog

	def test_an_sms_from_the_issue_goes_once_and_lands_on_its_timeline(self):
		from playwright.sync_api import expect

		number, issue = self.issue_of_a_customer("Lenteur le soir")
		frappe.db.commit()
		page, dialog = self.open_dialog("service", issue.name, "Envoyer un texto")
		self.assertEqual(dialog.locator('[data-fieldname="to"] select').input_value(), number)
		body = "Bonjour, un technicien passera demain entre 8 h et 10 h."
		dialog.locator('[data-fieldname="body"] textarea').fill(body)
		expect(dialog.locator('[data-testid="sms-count"]')).to_have_text(f"{len(body)} / 1600 caractères")
		self.shot(page, "sms-dialog-fr")
		dialog.locator(".btn-modal-primary").click()
		expect(dialog).to_be_hidden(timeout=60_000)

		(sent,) = self.wait_for(lambda: self.sent_on(number))
		comm = frappe.db.get_value(
			"Communication", sent, ["reference_doctype", "reference_name", "text_content"], as_dict=True
		)
		self.assertEqual(
			(comm.reference_doctype, comm.reference_name, comm.text_content), ("Issue", issue.name, body)
		)
		self.run_queued_send(sent)
		self.assertEqual([(m["to"], m["body"]) for m in self.twilio.sent], [(number, body)])
		self.assertEqual(frappe.db.get_value("Communication", sent, "delivery_status"), "Sent")

		# the form's own record of its timeline (docinfo.communications, what the timeline draws):
		# the dialog reloads the Issue, and the SMS is there, and again after a page reload. (On
		# this test server the Issue form draws no timeline items at all for this user, not even
		# "created this": the DOM is not checked, see the session note.)
		on_form = """(name) => ((window.cur_frm && cur_frm.get_docinfo().communications) || [])
			.some((c) => c.name === name && c.communication_medium === "SMS")"""
		page.wait_for_function(on_form, arg=sent, timeout=60_000)
		page.reload(wait_until="domcontentloaded")  # and after a reload, as sent
		expect(page.locator('[data-testid="send-sms"]')).to_be_visible(timeout=120_000)
		page.wait_for_function(on_form, arg=sent, timeout=60_000)
		self.shot(page, "sms-timeline-fr")
		self.assert_no_console_errors()  # Customer Service reads Support Settings: no refusal

	def test_a_number_that_texted_stop_is_refused_in_the_dialog(self):
		from playwright.sync_api import expect

		number, issue = self.issue_of_a_customer("Facture")
		set_consent(number, rules.STOP)
		frappe.db.commit()
		page, dialog = self.open_dialog("service_en", issue.name, "Send SMS")
		expect(dialog.locator('[data-fieldname="to"] select')).to_contain_text("texted STOP")
		dialog.locator('[data-fieldname="body"] textarea').fill("Your invoice is fixed.")
		dialog.locator(".btn-modal-primary").click()
		refusal = dialog.locator('[data-testid="sms-refusal"]')
		expect(refusal).to_contain_text(f"{number} texted STOP", timeout=60_000)
		expect(refusal).to_contain_text("until it texts START again")
		self.shot(page, "sms-refused-en")
		self.assertEqual(self.sent_on(number), [])
		self.assertEqual(self.twilio.sent, [])
		self.assert_no_console_errors(expected=("texted STOP",))

	def test_a_user_who_may_read_the_issue_but_not_text_sees_no_button(self):
		from playwright.sync_api import expect

		user = make_user(["Dispatcher", "Support Team"])  # send_sms: Customer Service, FSM Manager
		frappe.db.set_value("User", user.name, "language", "en")
		update_password(user.name, PASSWORD)
		self.users["support"] = user.name
		_number, issue = self.issue_of_a_customer("Sans bouton")
		frappe.db.commit()
		page = self.open_as("support", f"/app/issue/{issue.name}")
		expect(page.locator(".title-text", has_text=issue.subject)).to_be_visible(timeout=120_000)
		page.wait_for_function("() => window.gigafibre && window.gigafibre.sms", timeout=60_000)
		expect(page.locator('[data-testid="send-sms"]')).to_have_count(0)
		self.assert_no_console_errors(expected=ERPNEXT_SUPPORT_SETTINGS)
