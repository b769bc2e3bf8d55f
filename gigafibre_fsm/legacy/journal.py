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
  written many at a time from recipes (:class:`Recipe`) that a prototype Journal Entry made
  through the ORM and rolled back gives (legacy.prototypes, bulk.Shape): the naming series advanced
  once per batch, the entry, one account row and one GL Entry per line, handed to the background
  writer with the batch's checkpoint. A piece the recipes do not describe (a line with both or
  neither side, a receivable or payable account, another currency, an account twice when ERPNext
  merges GL rows) goes through the ORM (:func:`journal_entry_orm`). A piece that does not balance,
  names an unknown account, or books the receivable without a customer, is not imported: it is
  reported.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import frappe
from frappe.query_builder.functions import Sum
from frappe.utils import now_datetime
from pypika.enums import DatePart
from pypika.functions import Extract

from gigafibre_fsm.connectors import legacy_source
from gigafibre_fsm.core.legacy import mapping
from gigafibre_fsm.legacy import bulk, money, prototypes
from gigafibre_fsm.legacy.money import d, to_money

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
	recipe = None  # made on the first batch with a piece to write (a re-run makes none)
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
			fresh = []
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
				fresh.append(piece_entry(imp, piece, rows, accounts))
			if fresh and recipe is None:
				recipe = recipes(imp, accounts)
			by_recipe, by_orm = [], []
			for entry in fresh:
				(by_recipe if recipe.fits(entry) else by_orm).append(entry)
			for entry in by_orm:
				journal_entry_orm(imp, entry, cost_center)
			names = bulk.reserve_names(recipe.series, len(by_recipe)) if by_recipe else []
			out = bulk.Rows()
			now = now_datetime()
			for name, entry in zip(names, by_recipe, strict=True):
				recipe.add(out, entry, name, money.fiscal_year(imp, entry["posting_date"]), now)
			written = imp.flush(out, "journal insert")
			imp.count(
				"ecritures",
				"Journal Entry",
				read=len(batch),
				written=len(fresh),
				skipped=len(batch) - len(fresh),
			)
			imp.count("ecritures", "GL Entry", written=written.get("GL Entry", 0))
			if by_orm:
				orm = imp.report.get("journal_entries_through_the_orm", 0)
				imp.report["journal_entries_through_the_orm"] = orm + len(by_orm)
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


def piece_entry(imp, piece: str, rows: list[dict], accounts: dict[str, str]) -> dict:
	"""What a piece's Journal Entry is made of: its date, remark, legacy piece and lines
	(account, debit, credit), in the legacy order."""
	return {
		"legacy_piece": piece,
		"posting_date": legacy_source.invoice_date({"date": rows[0]["date"]}, imp.today),
		"user_remark": f"{piece}: {mapping.repair_text(rows[0]['libelle']) or ''}".strip(": "),
		"lines": [
			(accounts[r["numero"]], d(mapping.cents(r["debit"])), d(mapping.cents(r["credit"]))) for r in rows
		],
	}


def journal_entry_orm(imp, entry: dict, cost_center: str):
	"""One piece as a Journal Entry inserted and submitted through the ORM: the prototype of the
	recipes, and the way of the pieces they do not cover (:meth:`Recipe.fits`)."""
	je = frappe.get_doc(
		{
			"doctype": "Journal Entry",
			"voucher_type": "Journal Entry",
			"company": imp.ctx.company,
			"posting_date": entry["posting_date"],
			"user_remark": entry["user_remark"],
			"legacy_piece": entry["legacy_piece"],
			"accounts": [
				{
					"account": account,
					"cost_center": cost_center,
					"debit_in_account_currency": debit,
					"credit_in_account_currency": credit,
				}
				for account, debit, credit in entry["lines"]
			],
		}
	)
	je.insert(ignore_permissions=True)
	je.submit()
	return je


# -- the recipes ------------------------------------------------------------------------------
class Recipe:
	"""The rows of a Journal Entry as ERPNext writes them (legacy.prototypes, bulk.Shape): its own
	row, one ``Journal Entry Account`` row and one GL Entry per line (a debit and a credit recipe of
	each), no Payment Ledger Entry (no receivable or payable account). What varies per entry:
	name, posting date and fiscal year, ``user_remark`` (and the ``remark`` and GL ``remarks``
	"Note: ..." made of it), ``legacy_piece``, ``title`` (the first line's account: no party),
	``total_debit`` = ``total_credit``; per line its ``idx``, account and ``account_type``, amount
	and ``against_account`` (GL ``against``): the accounts of the other side, joined as ERPNext's
	``set_against_account`` joins them."""

	def __init__(self, series: str, head, lines: dict, gl: dict, accounts: dict, currency: str, merge: bool):
		self.series, self.head, self.lines, self.gl = series, head, lines, gl
		# an account without a currency is in the company's (journal_entry.py validate_multi_currency)
		same = {name: a for name, a in accounts.items() if (a.account_currency or currency) == currency}
		self.types = {name: a.account_type for name, a in same.items()}
		self.writable = {name for name, a in same.items() if a.account_type not in ("Receivable", "Payable")}
		self.merge = merge

	def fits(self, entry: dict) -> bool:
		"""Whether the recipes write this entry as ERPNext would: every line on one side only, of
		an account in the company's currency that is neither receivable nor payable, a remark, and
		no account twice when ERPNext merges the GL rows of one account (Accounts Settings)."""
		lines = entry["lines"]
		return (
			bool(entry["user_remark"])
			and all((debit > 0) != (credit > 0) and min(debit, credit) == 0 for _, debit, credit in lines)
			and all(account in self.writable for account, _, _ in lines)
			and not (self.merge and len({a for a, _, _ in lines}) < len(lines))
		)

	def values(self, entry: dict, name: str, fiscal_year: str | None, now) -> tuple[dict, list]:
		"""The head's values and, per line, its side and values."""
		lines = entry["lines"]
		debited = [account for account, debit, _ in lines if debit > 0]
		credited = [account for account, _, credit in lines if credit > 0]
		# ERPNext's own expression (journal_entry.py set_against_account): the order of a set of
		# strings is the process's own, the same in the ORM and here for the same list
		against = {"debit": ", ".join(list(set(credited))), "credit": ", ".join(list(set(debited)))}
		head = {
			"name": name,
			"posting_date": entry["posting_date"],
			"fiscal_year": fiscal_year,
			"user_remark": entry["user_remark"],
			"legacy_piece": entry["legacy_piece"],
			"title": lines[0][0],
			"total": sum((debit for _, debit, _ in lines), Decimal(0)),
			"now": now,
		}
		out = []
		for idx, (account, debit, credit) in enumerate(lines, 1):
			side = "debit" if debit > 0 else "credit"
			out.append((side, {**head, "idx": idx, "account": account, "account_type": self.types.get(account),
				"amount": debit or credit, "against": against[side]}))  # fmt: skip
		return head, out

	def add(self, out: bulk.Rows, entry: dict, name: str, fiscal_year: str | None, now) -> None:
		head, lines = self.values(entry, name, fiscal_year, now)
		out.add("Journal Entry", self.head, head)
		for side, values in lines:
			values["row_name"] = bulk.new_hash()
			out.add("Journal Entry Account", self.lines[side], values)
			values["row_name"] = bulk.new_hash()
			out.add("GL Entry", self.gl[side], values)


def recipes(imp, accounts: dict[str, str]) -> Recipe:
	"""The recipes, from a prototype Journal Entry made through the ORM (``journal_entry_orm``) and
	rolled back: two debit lines (a balance-sheet and a profit-and-loss account) and two credit
	lines. Each side's recipe is made from its first line and must give back the second line's
	rows, and the head recipe the head row, from values computed here: else the run stops."""
	bank, income, tps, tvq = imp.bank, imp.ctx.income_account, *imp.tax_accounts[:2]
	lines = [(bank, "61.73", "0"), (income, "20.61", "0"), (tps, "0", "49.37"), (tvq, "0", "32.97")]
	proto = {
		"legacy_piece": "PROTO-J1",
		"posting_date": date(2019, 3, 7),
		"user_remark": f"PROTO-J1: {prototypes.PROTO} libellé",
		"lines": [(account, Decimal(debit), Decimal(credit)) for account, debit, credit in lines],
	}
	frappe.db.commit()  # what the step made so far (accounts of the legacy chart) stays
	try:
		je = journal_entry_orm(imp, proto, imp.ctx.cost_center)
		rows = prototypes.read_back("Journal Entry", je.name, {"accounts": "Journal Entry Account"})
		series = je.naming_series
	finally:
		frappe.db.rollback()
	if rows["ple"] or len(rows["gl"]) != len(lines):
		raise RuntimeError(
			f"the prototype Journal Entry wrote {len(rows['gl'])} GL and {len(rows['ple'])} Payment "
			f"Ledger rows for {len(lines)} lines: the recipes do not describe it"
		)
	fiscal_year = str(rows["gl"][0]["fiscal_year"])
	tracked = {
		je.name: "name",
		proto["posting_date"]: "posting_date",
		fiscal_year: "fiscal_year",
		proto["user_remark"]: "user_remark",
		proto["legacy_piece"]: "legacy_piece",
	}
	D = {dt: bulk.db_defaults(dt) for dt in ("Journal Entry", "Journal Entry Account", "GL Entry")}
	line_fields = {"name": "row_name", "idx": "idx", "account": "account", "account_type": "account_type",
		"against_account": "against"}  # fmt: skip
	gl_fields = {"name": "row_name", "account": "account", "against": "against"}
	by_account = {r["account"]: r for r in rows["gl"]}
	first = {"debit": rows["accounts"][0], "credit": rows["accounts"][2]}
	lines_shapes, gl_shapes = {}, {}
	for side, row in first.items():
		line_tracked = {**tracked, to_money(row[side]): "amount"}
		lines_shapes[side] = bulk.Shape(row, line_tracked, line_fields, D["Journal Entry Account"])
		gl_shapes[side] = bulk.Shape(by_account[row["account"]], line_tracked, gl_fields, D["GL Entry"])
	head_fields = {"name": "name", "title": "title", "total_debit": "total", "total_credit": "total"}
	recipe = Recipe(
		series,
		bulk.Shape(rows["head"], tracked, head_fields, D["Journal Entry"]),
		lines_shapes,
		gl_shapes,
		_accounts(set(accounts.values()) | {a for a, _, _ in proto["lines"]}),
		imp.currency,
		bool(frappe.db.get_single_value("Accounts Settings", "merge_similar_account_heads")),
	)
	head, made = recipe.values(proto, je.name, fiscal_year, None)
	differences = _differences(recipe.head, head, rows["head"], "Journal Entry")
	for (side, values), line in zip(made, rows["accounts"], strict=True):
		differences += _differences(recipe.lines[side], values, line, f"line {line['idx']}")
		differences += _differences(recipe.gl[side], values, by_account[line["account"]], f"GL {line['idx']}")
	if differences:
		raise RuntimeError(f"the Journal Entry recipes do not give back ERPNext's rows: {differences[:10]}")
	return recipe


def _accounts(names: set[str]) -> dict:
	return {
		a.name: a
		for a in frappe.get_all(
			"Account",
			filters={"name": ["in", sorted(names)]},
			fields=["name", "account_type", "account_currency"],
			limit=0,
		)
	}


def _differences(shape: bulk.Shape, values: dict, row: dict, label: str) -> list[str]:
	made = shape.make({**values, "row_name": row["name"]})
	return [
		f"{label}.{column}: {made[column]!r} vs {row.get(column)!r}"
		for column in shape.columns
		if column not in ("name", "creation", "modified")
		and comparable(made[column]) != comparable(row.get(column))
	]


def comparable(value):
	"""A value as the ORM's and the recipes' rows are compared: numbers by value (21.40 == 21.4)."""
	if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
		return Decimal(str(value)).normalize()
	return value


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
