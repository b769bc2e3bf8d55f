"""Referrals in a real bench: codes on customers (insert, a duplicate-key race, the bulk
backfill), codes carried by contracts and quotations with every refusal, the 50 $ credit
granted once when the referred customer becomes active, and its use on the referrer's real
ERPNext Sales Invoices (taxes on the net, once across drafts, Credited on submit, given back
on cancel), the summary and its endpoint."""

import threading
from itertools import chain, repeat

import frappe
from frappe.utils import add_days, flt, today

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.core import referrals as rules
from gigafibre_fsm.customers import referral_credits, referrals
from gigafibre_fsm.exceptions import ConflictError, ForbiddenError, GigafibreValidationError
from gigafibre_fsm.test_utils import (
	make_contract,
	make_customer,
	make_plan_item,
	make_subscription,
	make_user,
	unique,
)
from gigafibre_fsm.testing import IntegrationTestCase

CODE = referrals.CODE_FIELD


def code_of(customer: str) -> str:
	return frappe.db.get_value("Customer", customer, CODE)


def make_location(customer: str, address_line: str, city: str = "Sainte-Clotilde"):
	return frappe.get_doc(
		{"doctype": "Service Location", "customer": customer, "address_line": address_line, "city": city}
	).insert(ignore_permissions=True)


def activate(sub) -> None:
	sub.reload()
	sub.status = "Actif"
	sub.start_date = sub.start_date or today()
	sub.save(ignore_permissions=True)


def company() -> str:
	return frappe.defaults.get_user_default("Company") or frappe.db.get_single_value(
		"Global Defaults", "default_company"
	)


def tax_account(label: str) -> str:
	"""A tax account of the test company (made once)."""
	co = company()
	abbr = frappe.get_cached_value("Company", co, "abbr")
	name = f"{label} - {abbr}"
	if not frappe.db.exists("Account", name):
		parent = frappe.db.get_value(
			"Account", {"company": co, "root_type": "Liability", "is_group": 1}, "name", order_by="lft desc"
		)
		frappe.get_doc(
			{
				"doctype": "Account",
				"account_name": label,
				"company": co,
				"parent_account": parent,
				"account_type": "Tax",
				"is_group": 0,
			}
		).insert(ignore_permissions=True)
	return name


def draft_invoice(customer: str, amount: float, *, taxes: bool = True, posting_date=None):
	"""An unsaved Sales Invoice of one plan line at ``amount``, with TPS 5 % and TVQ 9.975 %
	on the net total, as the billing run drafts it."""
	co = company()
	income = frappe.get_cached_value("Company", co, "default_income_account")
	si = frappe.new_doc("Sales Invoice")
	si.customer = customer
	si.company = co
	si.posting_date = posting_date or today()
	si.set_posting_time = 1
	si.due_date = si.posting_date
	si.append(
		"items",
		{
			"item_code": make_plan_item(),
			"qty": 1,
			"rate": amount,
			"income_account": income,
			"description": "Fibre",
		},
	)
	if taxes:
		for label, rate in (("TPS", 5), ("TVQ", 9.975)):
			si.append(
				"taxes",
				{
					"charge_type": "On Net Total",
					"account_head": tax_account(label),
					"rate": rate,
					"description": label,
				},
			)
	si.flags.ignore_permissions = True
	si.set_missing_values()
	for item in si.items:  # a price list must not override the billed amount
		item.rate = amount
		item.price_list_rate = amount
		item.discount_percentage = 0
		item.income_account = income
	return si


def make_quotation(party: str, code: str | None, quotation_to: str = "Customer"):
	return frappe.get_doc(
		{
			"doctype": "Quotation",
			"quotation_to": quotation_to,
			"party_name": party,
			"company": company(),
			"transaction_date": today(),
			"valid_till": add_days(today(), 30),
			"referral_code": code,
			"items": [{"item_code": make_plan_item(), "qty": 1, "rate": 50}],
		}
	).insert(ignore_permissions=True)


def credit_lines(si) -> list:
	return [d for d in si.items if d.get(referrals.LINE_FIELD)]


class ReferralCase(IntegrationTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		referral_credits.allow_credit_lines()

	def refer(self, referrer=None, referred=None, **kw):
		"""A referred customer's contract carrying the referrer's code: (referrer, referred, contract)."""
		referrer = referrer or make_customer()
		referred = referred or make_customer()
		contract = make_contract(referred.name, referral_code=code_of(referrer.name), **kw)
		return referrer, referred, contract

	def granted(self):
		"""A referrer whose referred customer is active: (referrer, referral)."""
		referrer, referred, _contract = self.refer()
		activate(make_subscription(referred.name))
		(credit,) = referral_credits.pending_credits(referrer.name)
		return referrer, credit["referral"]

	def assert_refused(self, message: str, fn, *args, **kw):
		with self.assertRaises(GigafibreValidationError) as ctx:
			fn(*args, **kw)
		self.assertEqual(ctx.exception.http_status_code, 417)
		self.assertIn(message, str(ctx.exception))


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


class TestCredit(ReferralCase):
	def test_credit_granted_once_when_the_first_subscription_is_active(self):
		referrer, referred, _contract = self.refer()
		sub = make_subscription(referred.name)
		self.assertEqual(referral_credits.pending_credits(referrer.name), [])
		summary = referrals.summary(referrer.name)
		self.assertEqual((summary["uses"], summary["awaiting_activation"]), (1, 1))
		activate(sub)
		(credit,) = referral_credits.pending_credits(referrer.name)
		self.assertEqual((credit["amount"], credit["credit_amount"], credit["used"]), (50.0, 50.0, 0))
		self.assertEqual(credit["item"], referrals.CREDIT_ITEM)
		self.assertIn(referred.customer_name, credit["description_en"])
		granted_on = frappe.db.get_value("Referral", credit["referral"], "credit_granted_on")
		# a second subscription becoming active grants nothing more
		activate(make_subscription(referred.name))
		self.assertEqual(len(referral_credits.pending_credits(referrer.name)), 1)
		self.assertEqual(frappe.db.get_value("Referral", credit["referral"], "credit_granted_on"), granted_on)
		self.assertIsNone(referrals.grant_credit(referred.name))

	def test_a_referral_recorded_after_activation_is_credited_at_once(self):
		referrer, referred = make_customer(), make_customer()
		make_subscription(referred.name, status="Actif", start_date=today())
		self.refer(referrer, referred)
		self.assertEqual([c["amount"] for c in referral_credits.pending_credits(referrer.name)], [50.0])

	def test_taxes_apply_to_the_net_after_the_credit(self):
		referrer, ref = self.granted()
		si = draft_invoice(referrer.name, 80)
		(added,) = referral_credits.apply_credits(si)
		self.assertEqual((added["referral"], added["amount"]), (ref, 50.0))
		self.assertEqual(referral_credits.apply_credits(si), [])  # already on it
		si.insert()
		(line,) = credit_lines(si)
		self.assertEqual(
			(line.item_code, flt(line.rate), flt(line.amount)), (referrals.CREDIT_ITEM, -50, -50)
		)
		self.assertEqual(flt(si.net_total), 30)
		self.assertAlmostEqual(flt(si.total_taxes_and_charges), 4.49, places=2)  # 1.50 + 2.99 on 30 $
		self.assertAlmostEqual(flt(si.grand_total), 34.49, places=2)

	def test_used_once_credited_on_submit_and_given_back_on_cancel(self):
		"""Invoices of exactly the credit (grand total 0) submit and cancel on both databases; the
		taxed invoice of the next test is cancelled on MariaDB only (ERPNext 15.99 on PostgreSQL)."""
		referrer, ref = self.granted()
		first = draft_invoice(referrer.name, 50, taxes=False)
		self.assertEqual([a["referral"] for a in referral_credits.apply_credits(first)], [ref])
		first.insert()

		# a second draft gets nothing: the first one holds the credit
		second = draft_invoice(referrer.name, 50, taxes=False)
		self.assertEqual(referral_credits.apply_credits(second), [])
		second.insert()
		self.assertEqual(referral_credits.pending_credits(referrer.name), [])

		first.submit()
		self.assertEqual(flt(first.grand_total), 0)
		state = frappe.db.get_value(
			"Referral", ref, ["status", "sales_invoice", "credited_on", "credit_applied"], as_dict=True
		)
		self.assertEqual(
			(state.status, state.sales_invoice, flt(state.credit_applied)), ("Credited", first.name, 50)
		)
		self.assertEqual(str(state.credited_on), str(first.posting_date))
		second.reload()
		self.assertEqual(referral_credits.apply_credits(second), [])
		self.assertEqual(credit_lines(second), [])

		summary = referrals.summary(referrer.name)
		self.assertEqual(summary["credits_granted"], {"count": 1, "amount": 50.0})
		self.assertEqual(summary["credits_applied"], {"count": 1, "amount": 50.0})
		self.assertEqual(summary["credits_pending"], {"count": 0, "amount": 0.0})
		self.assertEqual(summary["referrals"][0]["sales_invoice"], first.name)

		first.reload()
		first.cancel()
		self.assertEqual(
			frappe.db.get_value("Referral", ref, ["status", "sales_invoice", "credit_applied"]),
			("Pending", None, 0),
		)
		self.assertEqual([c["amount"] for c in referral_credits.pending_credits(referrer.name)], [50.0])
		second.reload()
		self.assertEqual([a["referral"] for a in referral_credits.apply_credits(second)], [ref])
		second.save()
		second.submit()
		self.assertEqual(
			frappe.db.get_value("Referral", ref, ["status", "sales_invoice"]), ("Credited", second.name)
		)

	def test_a_taxed_invoice_submits_and_cancels_with_its_credit(self):
		if frappe.db.db_type == "postgres":
			self.skipTest(
				"ERPNext 15.99 cannot cancel a submitted invoice with an amount due on PostgreSQL: "
				"it sets Payment Ledger Entry.delinked (smallint) to a boolean (DatatypeMismatch)"
			)
		referrer, ref = self.granted()
		si = draft_invoice(referrer.name, 80)
		referral_credits.apply_credits(si)
		si.insert()
		si.submit()
		self.assertAlmostEqual(flt(si.outstanding_amount), 34.49, places=2)
		self.assertEqual(
			frappe.db.get_value("Referral", ref, ["status", "sales_invoice"]), ("Credited", si.name)
		)
		other = draft_invoice(referrer.name, 80)
		self.assertEqual(referral_credits.apply_credits(other), [])
		si.cancel()
		self.assertEqual(frappe.db.get_value("Referral", ref, "status"), "Pending")
		self.assertEqual(len(referral_credits.apply_credits(other)), 1)

	def test_a_credit_larger_than_the_invoice_is_used_over_two_invoices(self):
		referrer, ref = self.granted()
		small = draft_invoice(referrer.name, 39.95, taxes=False)
		(added,) = referral_credits.apply_credits(small)
		self.assertEqual((added["amount"], added["left_after"]), (39.95, 10.05))
		small.insert()
		small.submit()
		self.assertEqual(flt(small.grand_total), 0)
		self.assertEqual(
			frappe.db.get_value("Referral", ref, ["status", "credit_applied"]), ("Pending", 39.95)
		)
		self.assertEqual([c["amount"] for c in referral_credits.pending_credits(referrer.name)], [10.05])
		summary = referrals.summary(referrer.name)
		self.assertEqual(summary["credits_pending"], {"count": 1, "amount": 10.05})
		taxed = draft_invoice(referrer.name, 39.95)
		(rest,) = referral_credits.apply_credits(taxed)
		self.assertEqual(rest["amount"], 10.05)
		taxed.insert()
		self.assertAlmostEqual(flt(taxed.net_total), 29.90, places=2)
		self.assertAlmostEqual(flt(taxed.total_taxes_and_charges), 29.90 * 0.14975, delta=0.011)
		# the rest used on an invoice of just that amount (grand total 0: submits on PostgreSQL too)
		taxed.delete()
		last = draft_invoice(referrer.name, 10.05, taxes=False)
		self.assertEqual(referral_credits.apply_credits(last)[0]["amount"], 10.05)
		last.insert()
		last.submit()
		self.assertEqual(
			frappe.db.get_value("Referral", ref, ["status", "sales_invoice"]), ("Credited", last.name)
		)

	def test_two_invoices_drafted_at_once_cannot_both_keep_the_credit(self):
		referrer, referred, _contract = self.refer()
		activate(make_subscription(referred.name))
		one, two = draft_invoice(referrer.name, 80), draft_invoice(referrer.name, 80)
		self.assertEqual(len(referral_credits.apply_credits(one)), 1)
		self.assertEqual(len(referral_credits.apply_credits(two)), 1)  # neither saved yet
		one.insert()
		with self.assertRaises(ConflictError) as ctx:
			two.insert()
		self.assertIn(one.name, str(ctx.exception))

	def test_an_invoice_cannot_carry_another_customers_credit(self):
		referrer, referred, _contract = self.refer()
		activate(make_subscription(referred.name))
		stranger = make_customer()
		si = draft_invoice(referrer.name, 80)
		referral_credits.apply_credits(si)
		si.customer = stranger.name
		self.assert_refused("belongs to another customer", si.insert)


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


class TestConcurrency(ReferralCase):
	"""Real concurrent workers, each with its own connection (the setup is committed first)."""

	def run_workers(self, count: int, work) -> tuple[list, list, list]:
		site, wins, losses, errors = frappe.local.site, [], [], []
		barrier = threading.Barrier(count)

		def worker(i):
			try:
				frappe.init(site=site)
				frappe.connect()
				frappe.set_user("Administrator")
				try:
					prepared = work.prepare(i)
					barrier.wait(60)
					try:
						wins.append(work.act(prepared))
						frappe.db.commit()
					except Exception as e:
						# refused: our ConflictError, or PostgreSQL refusing a concurrent update of
						# a row this transaction's snapshot predates (Frappe's naming series)
						if not isinstance(e, ConflictError) and getattr(e, "pgcode", None) != "40001":
							raise
						frappe.db.rollback()
						losses.append(i)
				except Exception as e:
					frappe.db.rollback()
					errors.append(repr(e))
			finally:
				frappe.destroy()

		threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
		for t in threads:
			t.start()
		for t in threads:
			t.join(180)
		frappe.db.rollback()  # a fresh snapshot of what the workers committed
		return wins, losses, errors

	def test_eight_invoices_drafted_at_once_one_keeps_the_credit(self):
		referrer, ref = self.granted()
		referral_credits.ensure_credit_item()
		frappe.db.commit()

		class Draft:
			@staticmethod
			def prepare(i):
				si = draft_invoice(referrer.name, 50, taxes=False)
				assert len(referral_credits.apply_credits(si)) == 1  # nobody has saved yet
				return si

			@staticmethod
			def act(si):
				si.insert()
				return si.name

		wins, losses, errors = self.run_workers(8, Draft)
		self.assertEqual(errors, [])
		self.assertEqual((len(wins), len(losses)), (1, 7))
		holders = frappe.get_all(
			"Sales Invoice Item", filters={referrals.LINE_FIELD: ref, "docstatus": 0}, pluck="parent"
		)
		self.assertEqual(holders, wins)

	def test_subscriptions_activated_at_once_grant_one_credit(self):
		referrer, referred, _contract = self.refer()
		subs = [make_subscription(referred.name).name for _ in range(4)]
		frappe.db.commit()

		class Activate:
			@staticmethod
			def prepare(i):
				return frappe.get_doc("Service Subscription", subs[i])

			@staticmethod
			def act(sub):
				activate(sub)
				return sub.name

		wins, losses, errors = self.run_workers(4, Activate)
		self.assertEqual((errors, len(wins)), ([], 4))
		(credit,) = referral_credits.pending_credits(referrer.name)
		self.assertEqual(credit["amount"], 50.0)
		granted = frappe.get_all(
			"Comment",
			filters={
				"reference_doctype": "Referral",
				"reference_name": credit["referral"],
				"comment_type": "Info",
			},
			pluck="name",
		)
		self.assertEqual(len(granted), 1)
