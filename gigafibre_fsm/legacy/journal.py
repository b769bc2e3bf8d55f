"""The legacy accounting entries (compta_comptes, ecritures): what the documents already booked is
compared with ERPNext's GL, to the cent; the manual pieces no document covers become Journal
Entries.

- The legacy chart maps to the company's accounts: 1100 receivable, 1010 bank, 2310 TPS, 2320 TVQ,
  4000 sales (the accounts the invoice and payment steps write to); any other number to the
  company's account of that number, made under the root of its kind (actif, passif, capital,
  revenu, depense) when there is none.
- An entry naming an invoice or a payment is not imported: the Sales Invoice or Payment Entry
  wrote its GL rows. ``verify`` compares, per legacy account and year, the legacy entries of the
  imported documents with the GL rows of those documents, and reports the entries of what was not
  imported (void invoices, reversements, duplicate Stripe payments) with their totals.
- A manual piece (entries naming neither) becomes a submitted Journal Entry (``legacy_piece``),
  through the ORM (a few thousand pieces: ERPNext's own validation and GL). A piece that does not
  balance, or that books the receivable without a customer, is not imported: it is reported.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import frappe
from frappe.query_builder.functions import Sum
from pypika.enums import DatePart
from pypika.functions import Extract

from gigafibre_fsm.connectors import legacy_source
from gigafibre_fsm.core.legacy import mapping

ROLES = {"1100": "receivable", "1010": "bank", "2310": "tps", "2320": "tvq", "4000": "income"}
ROOT_TYPES = {"actif": "Asset", "passif": "Liability", "capital": "Equity", "revenu": "Income",
	"depense": "Expense", "dépense": "Expense"}  # fmt: skip
PIECES = (
	"(SELECT MIN(id) AS id, piece FROM ecritures WHERE invoice_id IS NULL AND payment_id IS NULL "
	"GROUP BY piece) p"
)


def _company_accounts(company: str) -> dict[str, str]:
	"""The accounts the invoice and payment steps write to, by role."""
	from gigafibre_fsm.customers.billing_book import Context

	ctx = Context(company)
	values = frappe.get_cached_value(
		"Company",
		ctx.company,
		["default_receivable_account", "default_bank_account", "default_cash_account"],
		as_dict=True,
	)
	taxes = [
		t.account_head for t in frappe.get_doc("Sales Taxes and Charges Template", ctx.tax_template).taxes
	]
	tps = next((a for a in taxes if "TPS" in a.upper() or "GST" in a.upper()), taxes[0])
	tvq = next((a for a in taxes if a != tps), taxes[-1])
	return {
		"receivable": values.default_receivable_account,
		"bank": values.default_bank_account or values.default_cash_account,
		"tps": tps,
		"tvq": tvq,
		"income": ctx.income_account,
	}


def account_map(conn, company: str, create: bool = False) -> dict[str, str]:
	"""{legacy account number: ERPNext account}; with ``create``, accounts the chart lacks are made."""
	roles = _company_accounts(company)
	with conn.cursor() as cur:
		cur.execute("SELECT numero, nom, type FROM compta_comptes ORDER BY numero")
		chart = cur.fetchall()
	out = {}
	for numero, nom, kind in chart:
		numero = str(numero).strip()
		if numero in ROLES:
			out[numero] = roles[ROLES[numero]]
			continue
		found = frappe.db.get_value("Account", {"company": company, "account_number": numero, "is_group": 0})
		if not found and create:
			found = _make_account(company, numero, mapping.repair_text(nom) or numero, kind)
		if found:
			out[numero] = found
	return out


def _make_account(company: str, numero: str, name: str, kind) -> str | None:
	root_type = ROOT_TYPES.get((mapping.blank(kind) or "").lower())
	parent = root_type and frappe.db.get_value(
		"Account",
		{"company": company, "root_type": root_type, "is_group": 1, "parent_account": ["is", "not set"]},
	)
	if not parent:
		return None
	doc = frappe.get_doc(
		{
			"doctype": "Account",
			"account_name": name,
			"account_number": numero,
			"parent_account": parent,
			"company": company,
			"is_group": 0,
		}
	).insert(ignore_permissions=True)
	return doc.name


# -- the import step --------------------------------------------------------------------------
def journal(imp) -> None:
	company = imp.ctx.company
	accounts = account_map(imp.conn, company, create=True)
	receivable = accounts.get("1100")
	cost_center = imp.ctx.cost_center
	not_imported: dict[str, list] = {}
	lines_conn = legacy_source.connect(imp.source)
	try:
		for batch in imp.batches_of("ecritures", "id, piece", label="ecritures", source=PIECES):
			pieces = [r["piece"] for r in batch]
			have = set(
				frappe.get_all(
					"Journal Entry", filters={"legacy_piece": ["in", pieces]}, pluck="legacy_piece"
				)
			)
			lines = _piece_lines(lines_conn, [p for p in pieces if p not in have])
			written = 0
			for piece in pieces:
				if piece in have:
					continue
				rows = lines.get(piece, [])
				net = sum(mapping.cents(r["debit"]) - mapping.cents(r["credit"]) for r in rows)
				why = None
				if net:
					why = "unbalanced"
				elif any(accounts.get(r["numero"]) is None for r in rows):
					why = "unknown account"
				elif any(accounts[r["numero"]] == receivable for r in rows):
					why = "receivable without a customer"
				if why:
					entry = not_imported.setdefault(why, [0, 0])
					entry[0] += 1
					entry[1] += net
					continue
				_journal_entry(imp, piece, rows, accounts, cost_center)
				written += 1
			imp.count(
				"ecritures", "Journal Entry", read=len(batch), written=written, skipped=len(batch) - written
			)
	finally:
		lines_conn.close()
	if not_imported:
		imp.report["journal_pieces_not_imported"] = {
			k: {"count": v[0], "imbalance": f"{v[1] / 100:.2f}"} for k, v in not_imported.items()
		}


def _piece_lines(conn, pieces: list[str]) -> dict[str, list[dict]]:
	out: dict[str, list[dict]] = {}
	if not pieces:
		return out
	import pymysql.cursors

	with conn.cursor(pymysql.cursors.DictCursor) as cur:
		cur.execute(
			"SELECT e.piece, e.date, TRIM(c.numero) AS numero, e.debit, e.credit, e.libelle FROM ecritures e "
			"LEFT JOIN compta_comptes c ON c.id = e.compte_id WHERE e.invoice_id IS NULL "
			"AND e.payment_id IS NULL AND e.piece IN %s ORDER BY e.id",
			(pieces,),
		)
		for r in cur.fetchall():
			out.setdefault(r["piece"], []).append(r)
	return out


def _journal_entry(imp, piece: str, rows: list[dict], accounts: dict[str, str], cost_center: str) -> None:
	posting = legacy_source.invoice_date({"date": rows[0]["date"]}, imp.today)
	je = frappe.get_doc(
		{
			"doctype": "Journal Entry",
			"voucher_type": "Journal Entry",
			"company": imp.ctx.company,
			"posting_date": posting,
			"user_remark": f"{piece}: {mapping.repair_text(rows[0]['libelle']) or ''}".strip(": "),
			"legacy_piece": piece,
			"accounts": [
				{
					"account": accounts[r["numero"]],
					"cost_center": cost_center,
					"debit_in_account_currency": Decimal(str(r["debit"] or 0)),
					"credit_in_account_currency": Decimal(str(r["credit"] or 0)),
				}
				for r in rows
			],
		}
	)
	je.insert(ignore_permissions=True)
	je.submit()


# -- verify -----------------------------------------------------------------------------------
def checks(conn, facts: dict, customers: dict[int, str], company: str, today: date, excluded: dict) -> dict:
	"""``verify``'s ledger and journal checks (see the module docstring); ``excluded`` names the
	payments that are not money ({id: "reversement" | "duplicate"})."""
	accounts = account_map(conn, company)
	numbers = {account: numero for numero, account in accounts.items()}
	years = {d.id: d.date.year for d in facts["invoices"] + facts["credit_notes"] if d.account in customers}
	pay_years = {}
	for rows in legacy_source.stream(conn, "SELECT id, account_id, date, date_created, amount FROM payment"):
		for r in rows:
			if r["account_id"] in customers and r["id"] not in excluded and mapping.cents(r["amount"]) > 0:
				pay_years[r["id"]] = legacy_source.invoice_date(r, today).year
	legacy: dict[str, int] = defaultdict(int)
	left_out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
	pieces: dict[str, list] = {}
	sql = (
		"SELECT e.piece, e.date, e.invoice_id, e.payment_id, TRIM(c.numero) AS numero, e.debit, e.credit "
		"FROM ecritures e LEFT JOIN compta_comptes c ON c.id = e.compte_id"
	)
	for rows in legacy_source.stream(conn, sql):
		for r in rows:
			net = mapping.cents(r["debit"]) - mapping.cents(r["credit"])
			if r["invoice_id"] is None and r["payment_id"] is None:
				pieces.setdefault(r["piece"], []).append((r["numero"], net, r["date"]))
				continue
			year = years.get(r["invoice_id"]) if r["invoice_id"] else pay_years.get(r["payment_id"])
			if year is None:
				why = (
					excluded.get(r["payment_id"], "not imported")
					if r["payment_id"]
					else "invoice not imported"
				)
				left_out[why][0] += 1
				left_out[why][1] += max(net, 0)
				continue
			legacy[f"{r['numero']} {year}"] += net
	ours = _gl(numbers, ("Sales Invoice", "legacy_invoice_id"), ("Payment Entry", "legacy_payment_id"))
	ledger = {
		"legacy_total_debit": f"{sum(v for v in legacy.values() if v > 0) / 100:.2f}",
		"not_imported": {
			k: {"entries": v[0], "debit": f"{v[1] / 100:.2f}"} for k, v in sorted(left_out.items())
		},
		"differences": _compare(legacy, ours),
	}
	balanced: dict[str, int] = defaultdict(int)
	unbalanced = 0
	for lines in pieces.values():
		if sum(net for _, net, _ in lines):
			unbalanced += 1
			continue
		year = legacy_source.invoice_date({"date": lines[0][2]}, today).year
		for numero, net, _ in lines:
			balanced[f"{numero} {year}"] += net
	imported = frappe.db.count("Journal Entry", {"legacy_piece": ["is", "set"], "docstatus": 1})
	differences = _compare(balanced, _gl(numbers, ("Journal Entry", "legacy_piece")))
	if imported != len(pieces) - unbalanced:
		differences.insert(0, f"balanced pieces {len(pieces) - unbalanced} vs Journal Entries {imported}")
	journal = {
		"pieces": len(pieces),
		"unbalanced_not_imported": unbalanced,
		"imported": imported,
		"differences": differences,
	}
	return {"ledger": ledger, "journal": journal}


def _gl(numbers: dict[str, str], *vouchers: tuple[str, str]) -> dict[str, int]:
	"""GL net (debit − credit, cents) per "legacy number year" of the vouchers carrying a legacy id."""
	gl = frappe.qb.DocType("GL Entry")
	out: dict[str, int] = defaultdict(int)
	for doctype, field in vouchers:
		doc = frappe.qb.DocType(doctype)
		imported = (
			frappe.qb.from_(doc)
			.select(doc.name)
			.where(getattr(doc, field).isnotnull() & (doc.docstatus == 1))
		)
		year = Extract(DatePart.year, gl.posting_date)
		rows = (
			frappe.qb.from_(gl)
			.select(gl.account, year, Sum(gl.debit) - Sum(gl.credit))
			.where((gl.is_cancelled == 0) & (gl.voucher_type == doctype) & gl.voucher_no.isin(imported))
			.groupby(gl.account, year)
			.run()
		)
		for account, y, net in rows:
			out[f"{numbers.get(account, account)} {int(y)}"] += int(
				(Decimal(str(net or 0)) * 100).quantize(Decimal(1))
			)
	return out


def _compare(legacy: dict[str, int], ours: dict[str, int]) -> list[str]:
	return [
		f"{k}: legacy {legacy.get(k, 0) / 100:.2f} vs ERPNext {ours.get(k, 0) / 100:.2f}"
		for k in sorted(set(legacy) | set(ours))
		if legacy.get(k, 0) != ours.get(k, 0)
	]
