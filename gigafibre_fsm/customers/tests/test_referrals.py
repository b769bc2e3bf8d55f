"""Referrals in a real bench: codes on customers (insert, a duplicate-key race, the bulk
backfill), codes carried by contracts and quotations with every refusal, the summary and its
endpoint. The credit: test_referral_credits.py."""

from itertools import chain, repeat

import frappe
from frappe.utils import add_days, today

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.core import referrals as rules
from gigafibre_fsm.customers import referrals
from gigafibre_fsm.customers.tests.referral_case import (
	CODE,
	ReferralCase,
	activate,
	code_of,
	company,
	make_location,
	make_quotation,
)
from gigafibre_fsm.exceptions import ForbiddenError
from gigafibre_fsm.test_utils import (
	make_contract,
	make_customer,
	make_plan_item,
	make_subscription,
	make_user,
	unique,
)


class TestCodes(ReferralCase):
	def test_each_customer_gets_a_unique_unambiguous_code_on_insert(self):
		codes = [code_of(make_customer().name) for _ in range(5)]
		self.assertEqual(len(set(codes)), 5)
		for code in codes:
			self.assertEqual(rules.normalise_code(rules.format_code(code).lower()), code)
			self.assertTrue(set(code) <= set(rules.ALPHABET))

	def test_a_code_drawn_twice_is_drawn_again(self):
		"""Two workers drew the same code: the unique index refuses the second write, which is
		rolled back to its savepoint and drawn again."""
		first = make_customer()
		taken = code_of(first.name)
		second = make_customer()
		frappe.db.set_value("Customer", second.name, CODE, None)
		symbols = chain((rules.ALPHABET.index(c) for c in taken), repeat(7))
		code = referrals.assign_code(second.name, randbelow=lambda n: next(symbols), exists=lambda c: False)
		self.assertNotEqual(code, taken)
		self.assertEqual(code, rules.ALPHABET[7] * rules.CODE_LENGTH)
		self.assertEqual(code_of(second.name), code)
		self.assertEqual(code_of(first.name), taken)

	def test_backfill_gives_codes_in_bulk(self):
		names = [make_customer().name for _ in range(7)]
		customer = frappe.qb.DocType("Customer")
		frappe.qb.update(customer).set(customer[CODE], None).where(customer.name.isin(names)).run()
		self.assertGreaterEqual(referrals.backfill_codes(chunk=3), 7)
		codes = [code_of(n) for n in names]
		self.assertTrue(all(codes))
		self.assertEqual(len(set(codes)), 7)
		self.assertEqual(referrals.backfill_codes(), 0)


class TestRefusals(ReferralCase):
	def test_unknown_malformed_disabled_and_own_codes(self):
		me = make_customer()
		self.assert_refused(
			"This is not a valid referral code", make_contract, me.name, referral_code="O0-1IL"
		)
		unknown = next(
			c for c in ("22222222", "33333333", "44444444") if not frappe.db.exists("Customer", {CODE: c})
		)
		self.assert_refused(
			"This referral code does not exist", make_contract, me.name, referral_code=unknown
		)
		self.assert_refused(
			"You cannot use your own referral code", make_contract, me.name, referral_code=code_of(me.name)
		)
		off = make_customer(**{referrals.DISABLED_FIELD: 1})
		self.assert_refused(
			"This referral code is no longer active", make_contract, me.name, referral_code=code_of(off.name)
		)
		self.assertFalse(frappe.db.exists("Referral", {"referred_customer": me.name}))

	def test_same_service_address_is_one_household(self):
		referrer, referred = make_customer(), make_customer()
		make_location(referrer.name, "123, Rue Saint-Édouard  app. 2", "Sainte-Clotilde")
		make_location(referred.name, "123 rue saint edouard app 2", "SAINTE CLOTILDE")
		self.assert_refused(
			"A referral code cannot be used by a customer at the same address",
			make_contract,
			referred.name,
			referral_code=code_of(referrer.name),
		)
		# the unit next door is another household
		neighbour = make_customer()
		make_location(neighbour.name, "123 rue Saint-Édouard app. 3", "Sainte-Clotilde")
		self.refer(referrer, neighbour)

	def test_one_referral_per_customer_whatever_the_code(self):
		referrer, referred = make_customer(), make_customer()
		typed = f" {rules.format_code(code_of(referrer.name)).lower()} "
		contract = make_contract(referred.name, referral_code=typed)
		self.assertEqual(
			frappe.db.get_value("Service Contract", contract.name, "referral_code"), code_of(referrer.name)
		)
		self.assertEqual(frappe.db.count("Referral", {"referred_customer": referred.name}), 1)
		for code in (code_of(referrer.name), code_of(make_customer().name)):
			self.assert_refused(
				"This customer has already used a referral code",
				make_contract,
				referred.name,
				referral_code=code,
			)
		# the contract that recorded it is saved again, even once the code is disabled
		frappe.db.set_value("Customer", referrer.name, referrals.DISABLED_FIELD, 1)
		contract.reload()
		contract.duration_months = 24
		contract.save()
		self.assertEqual(frappe.db.count("Referral", {"referred_customer": referred.name}), 1)

	def test_a_quotation_records_on_submit_and_its_contract_is_the_same_referral(self):
		referrer, referred = make_customer(), make_customer()
		quotation = frappe.get_doc(
			{
				"doctype": "Quotation",
				"quotation_to": "Customer",
				"party_name": referred.name,
				"company": company(),
				"transaction_date": today(),
				"valid_till": add_days(today(), 30),
				"referral_code": rules.format_code(code_of(referrer.name)),
				"items": [{"item_code": make_plan_item(), "qty": 1, "rate": 50}],
			}
		)
		quotation.insert(ignore_permissions=True)
		self.assertEqual(quotation.referral_code, code_of(referrer.name))
		self.assertFalse(frappe.db.exists("Referral", {"referred_customer": referred.name}))
		quotation.submit()
		ref = frappe.get_doc(
			"Referral", frappe.db.get_value("Referral", {"referred_customer": referred.name})
		)
		self.assertEqual(
			(ref.referrer, ref.quotation, ref.status), (referrer.name, quotation.name, "Pending")
		)
		contract = make_contract(
			referred.name, quotation=quotation.name, referral_code=code_of(referrer.name)
		)
		self.assertEqual(frappe.db.get_value("Referral", ref.name, "service_contract"), contract.name)
		self.assert_refused(
			"This customer has already used a referral code",
			make_contract,
			referred.name,
			referral_code=code_of(referrer.name),
		)
		# a quotation of the referrer with their own code is refused on save
		own = frappe.copy_doc(quotation)
		own.party_name = referrer.name
		self.assert_refused("You cannot use your own referral code", own.insert, ignore_permissions=True)

	def test_a_cancelled_quotation_frees_the_customer_for_another_code(self):
		first, second, referred = make_customer(), make_customer(), make_customer()
		quotation = make_quotation(referred.name, code_of(first.name))
		quotation.submit()
		name = frappe.db.get_value("Referral", {"referred_customer": referred.name})
		quotation.cancel()
		self.assertEqual(frappe.db.get_value("Referral", name, "status"), "Cancelled")
		self.assertEqual(referrals.summary(first.name)["uses"], 0)
		contract = make_contract(referred.name, referral_code=code_of(second.name))
		self.assertEqual(
			frappe.db.get_value("Referral", name, ["referrer", "service_contract", "quotation", "status"]),
			(second.name, contract.name, None, "Pending"),
		)

	def test_a_quotation_to_a_lead_is_only_checked(self):
		lead = frappe.get_doc({"doctype": "Lead", "lead_name": unique("Prospect")}).insert(
			ignore_permissions=True
		)
		unknown = next(
			c for c in ("22222222", "33333333", "44444444") if not frappe.db.exists("Customer", {CODE: c})
		)
		self.assert_refused(
			"This referral code does not exist", make_quotation, lead.name, unknown, quotation_to="Lead"
		)
		referrer = make_customer()
		make_quotation(lead.name, code_of(referrer.name), quotation_to="Lead").submit()
		self.assertEqual(referrals.summary(referrer.name)["uses"], 0)


class TestSummaryEndpoint(ReferralCase):
	def test_summary_for_customer_service_and_403_for_others(self):
		referrer, referred, _contract = self.refer()
		activate(make_subscription(referred.name))
		cs = make_user(["Customer Service"])
		frappe.set_user(cs.name)
		try:
			summary = api.get_referral_summary(referrer.name)
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(summary["code"], rules.format_code(code_of(referrer.name)))
		self.assertTrue(summary["code_enabled"])
		self.assertEqual(summary["uses"], 1)
		self.assertEqual(summary["credits_granted"], {"count": 1, "amount": 50.0})
		self.assertEqual(summary["credits_pending"], {"count": 1, "amount": 50.0})
		self.assertEqual(summary["awaiting_activation"], 0)
		self.assertEqual(summary["referrals"][0]["referred_customer"], referred.name)
		self.assertEqual(api.get_referral_summary(referred.name)["referred_by"]["referrer"], referrer.name)

		outsider = make_user(["Dispatcher", "Technician", "Network Operator"])
		frappe.set_user(outsider.name)
		try:
			with self.assertRaises(ForbiddenError):
				api.get_referral_summary(referrer.name)
		finally:
			frappe.set_user("Administrator")
		with self.assertRaises(frappe.DoesNotExistError):
			api.get_referral_summary(unique("nobody"))
