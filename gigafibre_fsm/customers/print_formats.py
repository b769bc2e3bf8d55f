"""What the app's print formats show, computed here and handed to Jinja (hooks.py ``jinja``).

The templates (``customers/print_format/*/*.html``) only lay out what these functions return:

- :func:`gigafibre_invoice_view` for "Gigafibre Invoice" (Sales Invoice, a credit note too);
- :func:`gigafibre_quotation_view` for "Gigafibre Quotation";
- ``contract_pdf.gigafibre_contract_view`` for "Gigafibre Service Contract".

Each speaks the customer's language (Customer ``language``, else the document's, else French):
labels and explanations go through ``_(…, lang=…)``, money and dates are written by
``core.billing.statement``. The ISP's name, address, logo and TPS/TVQ numbers come from Gigafibre
Settings (the company's name without them). The pay link is :func:`pay_url`; its QR code is made
here as a PNG data URI (segno), so the PDF needs nothing from the network.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

import frappe
from frappe import _
from frappe.utils import cint, flt, get_datetime, getdate, strip_html

from gigafibre_fsm.core.billing.periods import period_for
from gigafibre_fsm.core.billing.statement import (
	LedgerRow,
	covered,
	explain,
	format_date,
	format_money,
	language,
	parse_key,
	statement,
)
from gigafibre_fsm.core.contracts import money

SETTINGS = "Gigafibre Settings"
LOCATION = "Service Location"
SUBSCRIPTION = "Service Subscription"
LOGO_MAX_BYTES = 512 * 1024
TAX_KINDS = (("tps", ("TPS", "GST")), ("tvq", ("TVQ", "QST")))
BREAK = re.compile(r"<br\s*/?>|</p>|</div>", re.IGNORECASE)


# -- shared pieces ------------------------------------------------------------------------


def document_language(doc) -> str:
	"""``fr`` or ``en``: the customer's language, else the document's, else French."""
	customer = doc.get("customer") or (
		doc.get("party_name") if (doc.get("quotation_to") or "Customer") == "Customer" else None
	)
	code = frappe.db.get_value("Customer", customer, "language") if customer else None
	return language(code or doc.get("language") or "fr")


def _settings():
	return frappe.get_cached_doc(SETTINGS)


def logo_data_uri(file_url: str | None) -> str | None:
	"""The logo File's content as a data URI (None when absent, too large or not an image)."""
	if not file_url:
		return None
	name = frappe.db.get_value("File", {"file_url": file_url}, "name")
	if not name:
		return None
	try:
		content = frappe.get_doc("File", name).get_content()
	except (OSError, frappe.DoesNotExistError):
		return None
	mime = mimetypes.guess_type(file_url)[0] or ""
	if isinstance(content, str):
		content = content.encode()
	if not mime.startswith("image/") or not content or len(content) > LOGO_MAX_BYTES:
		return None
	return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def isp(doc, lang: str) -> dict:
	"""The ISP's block: name, address lines, contact, logo, TPS and TVQ registration numbers."""
	s = _settings()
	return {
		"name": s.get("isp_name") or doc.get("company") or "",
		"address": [line.strip() for line in (s.get("isp_address") or "").splitlines() if line.strip()],
		"contact": " · ".join(v for v in (s.get("isp_phone"), s.get("isp_email"), s.get("isp_website")) if v),
		"logo": logo_data_uri(s.get("isp_logo")),
		"tps_number": s.get("tps_number") or "",
		"tvq_number": s.get("tvq_number") or "",
		"tps_label": _("TPS registration no.", lang=lang),
		"tvq_label": _("TVQ registration no.", lang=lang),
	}


def pay_url(doc) -> str | None:
	"""Where the customer pays ``doc`` (a Sales Invoice): Gigafibre Settings "Pay URL", with
	``{invoice}`` and ``{customer}`` replaced; else, when Stripe is set up, the invoice's signed
	pay link (gigafibre_fsm.customers.account.pay_url); None otherwise (the print leaves the
	block out)."""
	template = (_settings().get("pay_url") or "").strip()
	if template.lower().startswith(("https://", "http://")):
		return template.replace("{invoice}", quote(doc.name or "", safe="")).replace(
			"{customer}", quote(doc.get("customer") or "", safe="")
		)
	from gigafibre_fsm.settings import get_settings

	if doc.get("docstatus") == 1 and doc.name and get_settings().stripe.configured:
		from gigafibre_fsm.customers.account import pay_url as checkout_link

		return checkout_link(doc.name)
	return None


def qr_data_uri(url: str) -> str:
	"""A QR code of ``url`` as a PNG data URI."""
	import segno

	return segno.make_qr(url, error="m").png_data_uri(scale=4, border=2)


def _money(value, lang: str) -> str:
	return format_money(money(flt(value)), lang)


def _date(value, lang: str) -> str:
	return format_date(getdate(value), lang) if value else ""


def customer_block(doc, customer: str | None, lang: str) -> dict:
	name = doc.get("customer_name") or (
		frappe.db.get_value("Customer", customer, "customer_name") if customer else None
	)
	address = strip_html(BREAK.sub("\n", doc.get("address_display") or ""))
	return {
		"id": customer or "",
		"name": name or customer or "",
		"address": [line.strip() for line in address.splitlines() if line.strip()],
		"label": _("Customer", lang=lang),
		"number_label": _("Account no.", lang=lang),
	}


def _locations(names) -> dict[str, str]:
	"""Service Location → its address on one line."""
	names = [n for n in set(names) if n]
	if not names:
		return {}
	rows = frappe.get_all(
		LOCATION,
		filters={"name": ["in", names]},
		fields=["name", "address_line", "city", "postal_code"],
	)
	out = {}
	for r in rows:
		out[r.name] = ", ".join(v for v in (r.address_line, r.city, r.postal_code) if v) or r.name
	return out


def _taxes(doc, lang: str, sign: int = 1) -> list[dict]:
	"""One row per tax, with its rate and the ISP's registration number for it."""
	s = _settings()
	numbers = {"tps": s.get("tps_number"), "tvq": s.get("tvq_number")}
	out = []
	for row in doc.get("taxes") or []:
		label = strip_html(row.description or row.account_head or "")
		kind = next(
			(k for k, words in TAX_KINDS if any(w in label.upper() for w in words)),
			None,
		)
		rate = flt(row.rate)
		if rate:
			rate_text = f"{rate:g}".replace(".", "," if lang == "fr" else ".")
			label = f"{label} ({rate_text} %)" if lang == "fr" else f"{label} ({rate_text}%)"
		out.append(
			{
				"label": label,
				"number": numbers.get(kind) or "" if kind else "",
				"amount": _money(sign * flt(row.tax_amount), lang),
				"value": str(money(sign * flt(row.tax_amount))),
			}
		)
	return out


def _translate(lines, lang: str) -> list[str]:
	return [_(line.template, lang=lang).format(*line.params) for line in lines]


# -- Sales Invoice ---------------------------------------------------------------------------


def _subscriptions(names) -> dict:
	names = [n for n in set(names) if n]
	if not names:
		return {}
	rows = frappe.get_all(
		SUBSCRIPTION,
		filters={"name": ["in", names]},
		fields=["name", "customer", "billing_cycle", "start_date", "plan_name"],
	)
	return {r.name: r for r in rows}


def _line_explanation(parts, sub, billing_day: int, lang: str) -> list[str]:
	period = None
	if sub and parts.first and parts.kind in ("charge", "cancel", "change"):
		start = getdate(sub.start_date) if sub.start_date else None
		try:
			period = period_for(
				sub.billing_cycle or "Monthly",
				billing_day,
				parts.first,
				anchor_month=start.month if start else 1,
			)
		except Exception:  # a cycle or day the rules refuse: say the days only
			period = None
		if period and not (period.start <= parts.first and parts.last <= period.end):
			period = None
	first_charged = getdate(sub.start_date) if sub and sub.start_date else None
	return _translate(explain(parts, period, lang, first_charged), lang)


def _invoice_lines(doc, lang: str, sign: int) -> tuple[list[dict], tuple[date, date] | None]:
	items = doc.get("items") or []
	keys = {row.name: parse_key(row.get("gigafibre_line_key")) for row in items}
	subs = _subscriptions(p.subscription for p in keys.values() if p)
	billing_day = cint(frappe.db.get_value("Customer", doc.customer, "gigafibre_billing_day")) or 1
	places = _locations(row.get("gigafibre_service_location") for row in items)
	groups: dict[str | None, list[dict]] = {}
	for row in items:
		parts = keys[row.name]
		if parts:
			details = _line_explanation(parts, subs.get(parts.subscription), billing_day, lang)
		else:
			text = strip_html(BREAK.sub("\n", row.description or "")).strip()
			details = [t for t in text.splitlines() if t.strip() and t.strip() != row.item_name]
		amount = sign * flt(row.amount)
		label = row.item_name or row.item_code
		if flt(row.qty) and abs(flt(row.qty)) != 1:
			label = f"{label} × {abs(flt(row.qty)):g}"
		groups.setdefault(row.get("gigafibre_service_location") or None, []).append(
			{"label": label, "details": details, "amount": _money(amount, lang), "value": str(money(amount))}
		)
	order = sorted(groups, key=lambda loc: (loc is None, places.get(loc or "", "")))
	other = _("Other charges and credits", lang=lang)
	out = [
		{
			"title": (_("Service address: {0}", lang=lang).format(places.get(loc, loc)) if loc else other),
			"lines": groups[loc],
			"subtotal": _money(sum(flt(line["value"]) for line in groups[loc]), lang),
		}
		for loc in order
	]
	return out, covered(keys.values())


def _ledger_statement(doc):
	"""``core.billing.statement`` over the customer's Payment Ledger up to ``doc``."""
	day = getdate(doc.posting_date)
	rows = frappe.get_all(
		"Payment Ledger Entry",
		filters={
			"party_type": "Customer",
			"party": doc.customer,
			"company": doc.company,
			"delinked": 0,
			"posting_date": ["<=", day],
		},
		fields=["posting_date", "creation", "voucher_type", "voucher_no", "amount"],
		order_by="posting_date asc, creation asc",
		limit_page_length=0,
	)
	ledger = [
		LedgerRow(
			getdate(r.posting_date), get_datetime(r.creation), r.voucher_type, r.voucher_no, money(r.amount)
		)
		for r in rows
	]
	own = [r.created for r in ledger if r.voucher_no == doc.name]
	at = (day, min(own) if own and doc.docstatus == 1 else datetime.max)
	invoices = frappe.get_all(
		"Sales Invoice",
		filters={
			"customer": doc.customer,
			"company": doc.company,
			"docstatus": 1,
			"is_return": 0,
			"posting_date": ["<=", day],
		},
		pluck="name",
		limit_page_length=0,
	)
	return statement(ledger, doc.name, _total(doc), at, invoices)


def _total(doc) -> float:
	"""What the document asks for: its rounded total when ERPNext rounds it, else the grand total."""
	if not cint(doc.get("disable_rounded_total")) and flt(doc.get("rounded_total")):
		return flt(doc.rounded_total)
	return flt(doc.grand_total)


def _rounding(doc, lang: str, sign: int = 1) -> str | None:
	"""The rounding adjustment between the grand total and the total asked for, if any."""
	adjustment = money(_total(doc)) - money(flt(doc.grand_total))
	return _money(sign * adjustment, lang) if adjustment else None


def gigafibre_invoice_view(doc) -> dict:
	"""Everything "Gigafibre Invoice" prints, worked out and translated (see the module)."""
	lang = document_language(doc)
	credit = bool(cint(doc.get("is_return")))
	sign = -1 if credit else 1  # a credit note's amounts are printed as positive credits
	groups, span = _invoice_lines(doc, lang, sign)
	st = _ledger_statement(doc)  # a draft has no ledger rows: its total on top of the balance so far
	due = st.amount_due
	url = pay_url(doc) if due > 0 and not credit else None
	labels = invoice_labels(lang, credit)
	against = None
	if credit and doc.get("return_against"):
		against = _("This credit note credits invoice {0} of {1}", lang=lang).format(
			doc.return_against,
			_date(frappe.db.get_value("Sales Invoice", doc.return_against, "posting_date"), lang),
		)
	return {
		"lang": lang,
		"credit_note": credit,
		"t": labels,
		"isp": isp(doc, lang),
		"customer": customer_block(doc, doc.customer, lang),
		"number": doc.name,
		"date": _date(doc.posting_date, lang),
		"due_date": _date(doc.due_date, lang),
		"period": (
			_("{0} to {1}", lang=lang).format(format_date(span[0], lang), format_date(span[1], lang))
			if span
			else ""
		),
		"against": against,
		"groups": groups,
		"net_total": _money(sign * flt(doc.net_total), lang),
		"taxes": _taxes(doc, lang, sign),
		"rounding": _rounding(doc, lang, sign),
		"total": _money(sign * _total(doc), lang),
		"statement": {
			"previous_balance": _money(st.previous_balance, lang),
			"payments": _money(-st.payments, lang),
			"adjustments": _money(st.adjustments, lang) if st.adjustments else None,
			"this_document": _money(st.this_document, lang),
			"amount_due": _money(max(due, Decimal(0)), lang),
			"credit_balance": _money(-due, lang) if due < 0 else None,
			"raw": st.as_dict(),
		},
		"payable": due > 0 and not credit,
		"nothing_due": due <= 0 and not credit,
		"pay": {"url": url, "qr": qr_data_uri(url)} if url else None,
		"draft": doc.docstatus == 0,
		"cancelled": doc.docstatus == 2,
	}


def invoice_labels(lang: str, credit: bool = False) -> dict:
	return {
		"title": _("Credit note", lang=lang) if credit else _("Invoice", lang=lang),
		"number": _("Credit note no.", lang=lang) if credit else _("Invoice no.", lang=lang),
		"date": _("Date", lang=lang),
		"due_date": _("Due date", lang=lang),
		"period": _("Period covered", lang=lang),
		"description": _("Description", lang=lang),
		"amount": _("Amount", lang=lang),
		"subtotal": _("Subtotal", lang=lang),
		"net_total": _("Total before taxes", lang=lang),
		"rounding": _("Rounding adjustment", lang=lang),
		"total": _("Total credited", lang=lang) if credit else _("Total of this invoice", lang=lang),
		"summary": _("Account summary", lang=lang),
		"previous_balance": _("Previous balance", lang=lang),
		"payments": _("Payments received since the last invoice", lang=lang),
		"adjustments": _("Other invoices and credits", lang=lang),
		"this_document": _("This credit note", lang=lang) if credit else _("This invoice", lang=lang),
		"amount_due": _("Balance after this credit note", lang=lang)
		if credit
		else _("Amount due", lang=lang),
		"credit_balance": _("Credit balance in your favour", lang=lang),
		"nothing_due": _("Nothing to pay: the credit will be applied to your next invoice", lang=lang),
		"pay_title": _("How to pay", lang=lang),
		"pay_text": _("Scan the code with your phone or open this address to pay online:", lang=lang),
		"pay_by": _("Please pay by {0}.", lang=lang),
		"draft": _("Draft", lang=lang),
		"cancelled": _("Cancelled", lang=lang),
		"thanks": _("Thank you for choosing us.", lang=lang),
	}


# -- Quotation -------------------------------------------------------------------------------


def gigafibre_quotation_view(doc) -> dict:
	"""Everything "Gigafibre Quotation" prints: monthly plans and one-time charges apart, the
	regular price beside a discounted one, the term, taxes and totals of the quotation."""
	lang = document_language(doc)
	customer = doc.party_name if doc.quotation_to == "Customer" else None
	plans = set(
		frappe.get_all(
			"Item",
			filters={
				"name": ["in", [r.item_code for r in doc.items] or [""]],
				"gigafibre_down_mbps": [">", 0],
			},
			pluck="name",
		)
	)
	monthly, once = [], []
	for row in doc.items:
		regular = flt(row.price_list_rate)
		line = {
			"label": row.item_name or row.item_code,
			"qty": f"{flt(row.qty):g}",
			"rate": _money(row.rate, lang),
			"amount": _money(row.amount, lang),
			"value": str(money(row.amount)),
			"regular": (
				_("Regular price {0}, you save {1}", lang=lang).format(
					_money(regular * flt(row.qty), lang),
					_money((regular - flt(row.rate)) * flt(row.qty), lang),
				)
				if regular > flt(row.rate)
				else None
			),
		}
		(monthly if row.item_code in plans else once).append(line)
	location = doc.get("gigafibre_service_location")
	place = _locations([location]).get(location) if location else None
	term = doc.get("gigafibre_term_months")
	term = 24 if term is None else cint(term)
	t = {
		"title": _("Quotation", lang=lang),
		"number": _("Quotation no.", lang=lang),
		"date": _("Date", lang=lang),
		"valid_till": _("Valid until", lang=lang),
		"monthly": _("Monthly services", lang=lang),
		"once": _("One-time charges", lang=lang),
		"description": _("Description", lang=lang),
		"qty": _("Qty", lang=lang),
		"rate": _("Unit price", lang=lang),
		"amount": _("Amount", lang=lang),
		"subtotal": _("Subtotal", lang=lang),
		"net_total": _("Total before taxes", lang=lang),
		"rounding": _("Rounding adjustment", lang=lang),
		"total": _("Total", lang=lang),
		"term": _("Term", lang=lang),
		"draft": _("Draft", lang=lang),
		"accept": _(
			"To accept this quotation, tell us: we will send you the service contract to sign online.",
			lang=lang,
		),
	}
	return {
		"lang": lang,
		"t": t,
		"isp": isp(doc, lang),
		"customer": customer_block(doc, customer, lang),
		"number": doc.name,
		"date": _date(doc.transaction_date, lang),
		"valid_till": _date(doc.valid_till, lang),
		"place": _("Service address: {0}", lang=lang).format(place) if place else None,
		"term": (
			_("{0} months from the installation date", lang=lang).format(term)
			if term
			else _("No fixed term: the contract continues from month to month", lang=lang)
		),
		"monthly": monthly,
		"monthly_subtotal": _money(sum(flt(r["value"]) for r in monthly), lang),
		"once": once,
		"once_subtotal": _money(sum(flt(r["value"]) for r in once), lang),
		"net_total": _money(doc.net_total, lang),
		"taxes": _taxes(doc, lang),
		"rounding": _rounding(doc, lang),
		"total": _money(_total(doc), lang),
		"draft": doc.docstatus == 0,
	}
