"""The billing run on a real site: invoices, taxes, exactly once, failures, dry run, roles.

A run commits one customer at a time (that is what makes it resumable), so these tests make
their own customers and bill only them (``customers=``): nothing here depends on, or bills,
another test's records.

Invoices are submitted on both databases. ERPNext 15.99's Payment Ledger outstanding query
selects columns it does not group by, which PostgreSQL refuses; newer ERPNext wraps them in
MAX() (the test bench carries that fix). On an ERPNext without it, Gigafibre Settings
"Invoices as Drafts" leaves the run's invoices as drafts.
"""

from __future__ import annotations

import calendar
import threading
from datetime import date

import frappe
from frappe.utils import add_days, add_months, flt, getdate

from gigafibre_fsm.api import billing as api
from gigafibre_fsm.core.billing import BillableSubscription, line_key, plan_invoices
from gigafibre_fsm.customers import billing, billing_book, billing_run
from gigafibre_fsm.customers.doctype.service_subscription.test_service_subscription import make_plan
from gigafibre_fsm.exceptions import ForbiddenError
from gigafibre_fsm.test_utils import make_customer, make_location, make_user, settings_for_update
from gigafibre_fsm.testing import IntegrationTestCase

SUB = "Service Subscription"


def month_bounds() -> tuple[date, date]:
	today = getdate()
	first = today.replace(day=1)
	return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def make_sub(customer: str, price, start, **kw):
	return frappe.get_doc(
		{
			"doctype": SUB,
			"customer": customer,
			"plan": make_plan(),
			"status": kw.pop("status", "Actif"),
			"monthly_price": price,
			"start_date": start,
			"billing_cycle": kw.pop("billing_cycle", "Monthly"),
			**kw,
		}
	).insert(ignore_permissions=True)


def run(customers, as_of) -> dict:
	name = billing_run.create_run(as_of, "Administrator")
	frappe.db.commit()
	return billing_run.bill(name, customers=customers)


def invoices_of(customer: str) -> list:
	return frappe.get_all(
		"Sales Invoice", filters={"customer": customer, "docstatus": ["<", 2]}, pluck="name", order_by="name"
	)


def keys_on_invoices(subs: list[str]) -> list[str]:
	item = frappe.qb.DocType("Sales Invoice Item")
	si = frappe.qb.DocType("Sales Invoice")
	rows = (
		frappe.qb.from_(item)
		.join(si)
		.on(si.name == item.parent)
		.select(item.gigafibre_line_key)
		.where((si.docstatus < 2) & (item.gigafibre_line_key.isnotnull()))
		.run(pluck=True)
	)
	return sorted(k for k in rows if k.split(":")[0] in subs)


class BillingTestCase(IntegrationTestCase):
	"""Submitted invoices, no "Bill From" floor, the daily run off while the tests run."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.drafts = False
		settings = settings_for_update()
		cls.saved = (settings.billing_as_drafts, settings.billing_from, settings.billing_enabled)
		settings.billing_as_drafts = int(cls.drafts)
		settings.billing_from = None
		settings.billing_enabled = 0  # the daily job must not bill the site while tests run
		settings.save(ignore_permissions=True)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		settings = settings_for_update()
		settings.billing_as_drafts, settings.billing_from, settings.billing_enabled = cls.saved
		settings.save(ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		self.first, self.last = month_bounds()
		self.company = billing_book.default_company()


class TestBillingRun(BillingTestCase):
	def test_the_tax_template_is_made_once_with_its_accounts_under_duties_and_taxes(self):
		name = billing_book.ensure_tax_template()
		self.assertEqual(billing_book.ensure_tax_template(), name)
		self.assertEqual(
			frappe.db.count(
				billing_book.TAX_TEMPLATE, {"company": self.company, "title": billing_book.TAX_TEMPLATE_TITLE}
			),
			1,
		)
		rows = frappe.get_doc(billing_book.TAX_TEMPLATE, name).taxes
		self.assertEqual(
			[(r.charge_type, flt(r.rate, 3)) for r in rows], [("On Net Total", 5), ("On Net Total", 9.975)]
		)
		for row in rows:
			account = frappe.get_doc("Account", row.account_head)
			parent = frappe.get_doc("Account", account.parent_account)
			self.assertEqual(
				(account.company, account.account_type, account.root_type), (self.company, "Tax", "Liability")
			)
			self.assertEqual((parent.is_group, parent.account_type), (1, "Tax"))

	def test_a_month_is_billed_once_with_taxes_grouped_by_address(self):
		a, b, late = make_customer(), make_customer(), make_customer()
		home, cottage = make_location(a.name), make_location(a.name)
		fibre = make_sub(a.name, 100, self.first, service_location=home.name)
		phone = make_sub(a.name, 39.95, self.first, service_location=cottage.name)
		b_sub = make_sub(b.name, 100, self.first)
		late_start = add_days(self.first, 9)  # installed on the 9th: the activation day is free
		part = make_sub(late.name, 39.95, late_start)
		frappe.db.commit()
		customers = [a.name, b.name, late.name]

		result = run(customers, self.last)
		self.assertEqual((result["status"], result["invoices"], result["failures"]), ("Completed", 3, []))

		(b_inv,) = invoices_of(b.name)
		si = frappe.get_doc("Sales Invoice", b_inv)
		self.assertEqual((si.docstatus, getdate(si.posting_date)), (0 if self.drafts else 1, self.first))
		self.assertEqual([flt(t.tax_amount) for t in si.taxes], [5.0, 9.98])
		self.assertEqual(
			(flt(si.net_total), flt(si.grand_total), flt(si.outstanding_amount)), (100.0, 114.98, 114.98)
		)
		self.assertEqual(si.taxes_and_charges, billing_book.ensure_tax_template())

		# one invoice for both of A's addresses, each line with its address and key
		(a_inv,) = invoices_of(a.name)
		si = frappe.get_doc("Sales Invoice", a_inv)
		income, cost_center = frappe.get_cached_value(
			"Company", self.company, ["default_income_account", "cost_center"]
		)
		self.assertTrue(all(i.income_account == income and i.cost_center == cost_center for i in si.items))
		self.assertEqual(
			sorted((i.gigafibre_line_key, i.gigafibre_service_location) for i in si.items),
			sorted(
				[
					(line_key(fibre.name, self.first, self.last), home.name),
					(line_key(phone.name, self.first, self.last), cottage.name),
				]
			),
		)
		# the totals the pure rules plan
		(plan,) = plan_invoices(
			{
				a.name: [
					BillableSubscription(fibre.name, 100, self.first),
					BillableSubscription(phone.name, "39.95", self.first),
				]
			},
			self.last,
		)
		self.assertEqual(
			(flt(si.net_total), flt(si.grand_total)), (float(plan.net_total), float(plan.grand_total))
		)

		# a subscription started inside the period: prorated from its start, due that day
		(late_inv,) = invoices_of(late.name)
		si = frappe.get_doc("Sales Invoice", late_inv)
		days = (self.last - late_start).days + 1
		self.assertEqual(getdate(si.posting_date), late_start)
		self.assertEqual([flt(i.amount) for i in si.items], [flt(39.95 * days / self.last.day, 2)])
		self.assertEqual(si.items[0].gigafibre_line_key, line_key(part.name, late_start, self.last))
		for name in (fibre.name, phone.name, b_sub.name, part.name):
			self.assertEqual(getdate(frappe.db.get_value(SUB, name, "billed_until")), self.last)

		again = run(customers, self.last)
		self.assertEqual((again["invoices"], again["failures"]), (0, []))
		self.assertEqual([len(invoices_of(c)) for c in customers], [1, 1, 1])
		self.assertEqual(len(keys_on_invoices([fibre.name, phone.name, part.name, b_sub.name])), 4)

	def test_a_referral_credit_is_on_the_referrers_next_invoice_once(self):
		from gigafibre_fsm.customers import referral_credits
		from gigafibre_fsm.test_utils import make_contract

		referral_credits.allow_credit_lines()
		referrer, referred = make_customer(), make_customer()
		make_contract(
			referred.name,
			referral_code=frappe.db.get_value("Customer", referrer.name, "gigafibre_referral_code"),
		)
		doc = make_sub(referred.name, 60, add_months(self.first, 1), status="En attente")
		doc.status = "Actif"
		doc.save(ignore_permissions=True)  # the referred customer's first active subscription
		(credit,) = referral_credits.pending_credits(referrer.name)
		# the referrer's next invoice: the first billing date after the credit was granted
		next_first, next_last = add_months(self.first, 1), add_months(self.last, 1)
		make_sub(referrer.name, 100, next_first)
		frappe.db.commit()

		result = run([referrer.name], next_last)
		self.assertEqual((result["invoices"], result["failures"]), (1, []))
		(inv,) = invoices_of(referrer.name)
		si = frappe.get_doc("Sales Invoice", inv)
		credits = [d for d in si.items if d.gigafibre_referral]
		self.assertEqual(
			[(d.gigafibre_referral, flt(d.amount)) for d in credits], [(credit["referral"], -50.0)]
		)
		# the taxes apply to the net: 100 - 50 = 50 -> 2.50 + 4.99
		self.assertEqual((flt(si.net_total), [flt(t.tax_amount) for t in si.taxes]), (50.0, [2.5, 4.99]))
		self.assertEqual(frappe.db.get_value("Referral", credit["referral"], "status"), "Credited")
		self.assertEqual(referral_credits.pending_credits(referrer.name), [])

		# the next month's invoice carries no credit
		run([referrer.name], add_months(self.last, 2))
		later = [n for n in invoices_of(referrer.name) if n != inv]
		self.assertEqual(len(later), 1)
		self.assertFalse([d for d in frappe.get_doc("Sales Invoice", later[0]).items if d.gigafibre_referral])

	def test_cycles_cancellation_and_billing_day(self):
		c = make_customer()
		six = make_sub(c.name, 30, self.first, billing_cycle="Semestrial")
		cancelled_on = add_days(self.first, 9)
		gone = make_sub(c.name, 31, self.first, status="Annulé", cancellation_date=cancelled_on)
		d = make_customer(gigafibre_billing_day=15)
		mid = make_sub(d.name, 60, self.first)
		frappe.db.commit()
		run([c.name, d.name], self.last)

		(inv,) = invoices_of(c.name)
		amounts = {i.gigafibre_line_key: flt(i.amount) for i in frappe.get_doc("Sales Invoice", inv).items}
		six_end = add_days(add_months(self.first, 6), -1)
		self.assertEqual(amounts[line_key(six.name, self.first, six_end)], 180.0)
		self.assertEqual(
			amounts[line_key(gone.name, self.first, cancelled_on)], flt(31 * 10 / self.last.day, 2)
		)
		self.assertEqual(getdate(frappe.db.get_value(SUB, gone.name, "billed_until")), cancelled_on)
		# billing day 15: the days before the 15th, then the period from the 15th, two invoices
		mid_day = self.first.replace(day=15)
		posted = sorted(
			getdate(frappe.db.get_value("Sales Invoice", n, "posting_date")) for n in invoices_of(d.name)
		)
		self.assertEqual(posted, [self.first, mid_day])
		self.assertEqual(
			getdate(frappe.db.get_value(SUB, mid.name, "billed_until")), add_days(add_months(mid_day, 1), -1)
		)

	def test_a_plan_change_on_billed_days_is_settled_once(self):
		c = make_customer()
		sub = make_sub(c.name, 100, self.first)
		frappe.db.commit()
		run([c.name], self.last)
		effective = add_days(self.first, 10)
		sub.reload()
		sub.append("plan_changes", {"effective_date": effective, "monthly_price": 130})
		sub.save(ignore_permissions=True)
		self.assertEqual(getdate(sub.plan_changes[0].billed_until), self.last)
		frappe.db.commit()

		result = run([c.name], self.last)
		self.assertEqual(result["invoices"], 1)
		latest = invoices_of(c.name)[-1]
		(item,) = frappe.get_doc("Sales Invoice", latest).items
		days = (self.last - effective).days + 1
		self.assertEqual(
			item.gigafibre_line_key, line_key(sub.name, effective, self.last, f"change-{effective:%Y%m%d}")
		)
		self.assertEqual(
			flt(item.amount), flt(flt(130 * days / self.last.day, 2) - flt(100 * days / self.last.day, 2), 2)
		)
		self.assertEqual(run([c.name], self.last)["invoices"], 0)
		self.assertEqual(len(invoices_of(c.name)), 2)

	def test_two_runs_at_once_bill_each_charge_once(self):
		customers = [make_customer().name for _ in range(6)]
		subs = [make_sub(c, 50, self.first).name for c in customers]
		frappe.db.commit()
		site, results, errors = frappe.local.site, [], []
		runs = [billing_run.create_run(self.last, "Administrator") for _ in range(2)]
		frappe.db.commit()
		barrier = threading.Barrier(2)

		def worker(name):
			try:
				frappe.init(site=site)
				frappe.connect()
				frappe.set_user("Administrator")
				barrier.wait(30)
				results.append(billing_run.bill(name, customers=customers))
			except Exception as e:
				errors.append(repr(e))
			finally:
				frappe.destroy()

		threads = [threading.Thread(target=worker, args=(r,)) for r in runs]
		for t in threads:
			t.start()
		for t in threads:
			t.join(300)
		self.assertEqual(errors, [])
		self.assertEqual(sum(r["invoices"] for r in results), 6)
		self.assertEqual([r["failures"] for r in results], [[], []])
		self.assertEqual(len(keys_on_invoices(subs)), 6)
		self.assertEqual(sum(len(invoices_of(c)) for c in customers), 6)

	def test_a_failing_customer_is_recorded_and_billed_once_when_rerun(self):
		ok, bad = make_customer(), make_customer()
		ok_sub, bad_sub = make_sub(ok.name, 100, self.first), make_sub(bad.name, 100, self.first)
		bad.disabled = 1
		bad.save(ignore_permissions=True)
		frappe.db.commit()

		first = run([ok.name, bad.name], self.last)
		self.assertEqual((first["status"], first["invoices"]), ("Completed", 1))
		self.assertEqual([f["customer"] for f in first["failures"]], [bad.name])
		self.assertIn("disabled", first["failures"][0]["reason"])
		self.assertEqual(frappe.db.count("Sales Invoice", {"customer": bad.name}), 0)
		doc = frappe.get_doc(billing_run.RUN, first["run"])
		self.assertEqual((doc.failure_count, doc.failures[0].customer), (1, bad.name))
		self.assertFalse(frappe.db.exists(billing.KEY, {"subscription": bad_sub.name}))
		self.assertIsNone(frappe.db.get_value(SUB, bad_sub.name, "billed_until"))

		bad.reload()
		bad.disabled = 0
		bad.save(ignore_permissions=True)
		frappe.db.commit()
		second = run([ok.name, bad.name], self.last)
		self.assertEqual((second["invoices"], second["failures"]), (1, []))
		self.assertEqual((len(invoices_of(ok.name)), len(invoices_of(bad.name))), (1, 1))
		self.assertEqual(len(keys_on_invoices([ok_sub.name, bad_sub.name])), 2)

	def test_dry_run_writes_nothing(self):
		c = make_customer()
		sub = make_sub(c.name, 100, self.first)
		frappe.db.commit()

		def counts():
			return (
				frappe.db.count("Sales Invoice"),
				frappe.db.count(billing.KEY),
				frappe.db.count(billing_run.RUN),
				frappe.db.get_value(SUB, sub.name, ["billed_until", "modified"]),
			)

		before = counts()
		result = billing_book.dry_run(self.last, [c.name])
		self.assertEqual(counts(), before)
		self.assertEqual((result["invoices"], result["grand_total"]), (1, 114.98))
		self.assertEqual(result["plans"][0]["customer"], c.name)

	def test_only_billers_may_run_billing(self):
		c = make_customer()
		make_sub(c.name, 100, self.first)
		for roles in (
			["Customer Service", "Dispatcher", "Network Operator", "Technician"],
			["Accounts User"],
		):
			frappe.set_user(make_user(roles).name)
			try:
				with self.assertRaises(ForbiddenError):
					api.run_billing(as_of=str(self.last), dry_run=True)
			finally:
				frappe.set_user("Administrator")
		frappe.set_user(make_user(["Accounts Manager"]).name)
		try:
			answer = api.run_billing(as_of=str(self.last), dry_run=True)
		finally:
			frappe.set_user("Administrator")
		self.assertIn(c.name, {p["customer"] for p in answer["plans"]})

	def test_one_run_at_a_time_and_the_daily_job_waits_for_the_setting(self):
		c = make_customer()
		make_sub(c.name, 100, self.first)
		frappe.db.commit()
		lock = frappe.cache.lock(frappe.cache.make_key(billing_run.LOCK_KEY), timeout=60)
		self.assertTrue(lock.acquire(blocking_timeout=5))
		try:
			busy = billing_run.create_run(self.last, "Administrator")
			frappe.db.commit()
			refused = billing_run.execute(busy, customers=[c.name], inline=True)
		finally:
			lock.release()
		self.assertEqual(
			(refused["status"], refused["error"]), ("Failed", "Another billing run is in progress")
		)
		self.assertEqual(invoices_of(c.name), [])
		done = billing_run.execute(
			billing_run.create_run(self.last, "Administrator"), customers=[c.name], inline=True
		)
		self.assertEqual((done["status"], done["invoices"]), ("Completed", 1))

		runs = frappe.db.count(billing_run.RUN)
		billing_run.daily()  # Gigafibre Settings: the daily run is off
		self.assertEqual(frappe.db.count(billing_run.RUN), runs)
