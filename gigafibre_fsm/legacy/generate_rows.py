"""What the legacy generator (legacy/generate.py) writes with: the production figures and the
rates of the planted problems, the names and places rows are drawn from, the legacy columns, the
PHP app's money and tax rounding, and a writer of multi-row INSERTs. Pure Python; no Frappe.
"""

from __future__ import annotations

import math
import random
import struct
import zlib
from datetime import date

SNAPSHOT = date(2026, 6, 1)  # the day the legacy copy was taken
FIRST_DAY = date(2012, 1, 1)

TARGETS = {
	"staff": 155,
	"account": 15_303,
	"delivery": 17_114,
	"service": 66_879,
	"invoice": 630_000,
	"invoice_item": 1_860_000,
	"payment": 541_000,
	"payment_item": 685_000,
	"ticket": 243_000,
	"ticket_msg": 784_000,
	"ticket_image": 8_000,
	"device": 10_377,
	"product": 833,
	"bon_travail": 30_000,
	"journal_piece": 3_000,
}
RATES = {
	"account_without_address": 0.015,
	"credit_note": 0.028,  # of invoices
	"credit_named": 0.04,  # of credit notes: credit_of filled
	"credit_partial": 0.15,  # of credit notes: one line only
	"reversement": 0.78,  # of whole-invoice credits
	"duplicate_stripe": 0.004,  # of Stripe payments
	"zero_date": 0.001,
	"future_date": 0.0005,
	"unpaid": 0.01,
	"advance": 0.006,  # payments with an unallocated surplus
	"mojibake": 0.35,  # of accented names
	"work_order_no_technician": 0.01,  # staff_id NULL, 0 or a deleted staff row
	"work_order_stale_open": 0.003,  # of past work orders: left planned, never closed
	"work_order_zero_done": 0.01,  # of done work orders: date_done 0000-00-00
	"unbalanced_piece": 0.02,  # of manual journal pieces
}
LINES_PER_INVOICE = ((1, 0.14), (2, 0.23), (3, 0.30), (4, 0.20), (5, 0.13))
BATCH = 5000

FIRST_NAMES = [
	"Jean", "Marie", "Éric", "Hélène", "François", "Gérald", "Josée", "Benoît", "Stéphane", "Mélanie",
	"Luc", "Sylvie", "René", "Chloé", "Noël", "Zoé", "André", "Julie", "Marc", "Isabelle",
]  # fmt: skip
LAST_NAMES = [
	"Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagné",
	"Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Leblanc", "Paquette", "Girard", "Simard", "Boucher",
]  # fmt: skip
STREETS = ["rue Principale", "chemin de la Rivière", "rang Saint-Édouard", "boulevard Sainte-Clotilde",
	"rue de l'Église", "montée Gagnon", "rue des Érables", "chemin du Lac"]  # fmt: skip
CITIES = ["Sainte-Clotilde", "Saint-Rémi", "Napierville", "Hemmingford", "Saint-Chrysostome",
	"Châteauguay", "Saint-Urbain-Premier", "Mercier"]  # fmt: skip
CATEGORIES = ["Internet", "Télévision", "Téléphonie", "Équipement", "Installation", "Frais", "Forfaits",
	"Rabais", "Hébergement", "Divers", "Affaires", "Promotions"]  # fmt: skip
SUBJECTS = ["Pas d'internet", "Lenteur", "Facturation", "Déménagement", "Modem à changer", "Télé gelée",
	"Ligne téléphonique coupée", "Question sur la facture", "Changement de forfait", "Wi-Fi faible"]  # fmt: skip
METHODS = (("preauth", 0.35), ("stripe", 0.25), ("cheque", 0.20), ("visa", 0.10), ("interac", 0.07),
	("comptant", 0.03))  # fmt: skip
COLUMNS = {
	"staff": "id username first_name last_name email password is_user active date_created",
	"account": "id customer_number company first_name last_name address1 city province zip phone cell email "
	"email_billing language password status billing_day note date_created date_modified",
	"delivery": "id account_id address1 address2 city province zip lat lng note date_created",
	"fibre": "id delivery_id connection_type olt olt_port ont_id vlan",
	"product_cat": "id name",
	"product": "id cat_id sku name price down_mbps up_mbps taxable active",
	"service": "id account_id delivery_id product_id price payment_recurrence status actif_since actif_until "
	"date_cancelled last_billed date_created",
	"tax": "id code name rate account_no",
	"invoice": "id account_id type credit_of date due_date subtotal tps tvq total status note date_created "
	"date_modified",
	"invoice_item": "id invoice_id service_id product_id description qty price amount",
	"payment": "id account_id date amount method reference stripe_ref staff_id note date_created date_modified",
	"payment_item": "id payment_id invoice_id amount",
	"compta_comptes": "id numero nom type",
	"ecritures": "id piece date compte_id debit credit libelle invoice_id payment_id",
	"ticket": "id account_id delivery_id subject status priority staff_id date_created date_closed",
	"ticket_msg": "id ticket_id staff_id from_customer message date_created",
	"device": "id account_id delivery_id type serial mac manufacturer model status date_installed",
	"bon_travail": "id account_id delivery_id ticket_id type status date_planned date_done staff_id note",
}


def money(cents: int) -> str:
	sign = "-" if cents < 0 else ""
	cents = abs(cents)
	return f"{sign}{cents // 100}.{cents % 100:02d}"


def tax_cents(subtotal: int, per_100k: int) -> int:
	"""The PHP app's tax: round half away from zero of subtotal × rate (rate in 1/100,000)."""
	value = abs(subtotal) * per_100k
	rounded = (value + 50_000) // 100_000
	return rounded if subtotal >= 0 else -rounded


TPS, TVQ = 5_000, 9_975


def mojibake(text: str) -> str:
	"""What a UTF-8 string becomes when PHP wrote its bytes through a latin1 connection."""
	return text.encode("utf-8").decode("cp1252")


def tiny_png(rng: random.Random) -> bytes:
	"""A valid 8×8 PNG of one random colour (about 80 bytes)."""
	r, g, b = rng.randrange(256), rng.randrange(256), rng.randrange(256)
	raw = b"".join(b"\x00" + bytes((r, g, b)) * 8 for _ in range(8))

	def chunk(kind: bytes, data: bytes) -> bytes:
		return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

	header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
	return (
		b"\x89PNG\r\n\x1a\n"
		+ chunk(b"IHDR", header)
		+ chunk(b"IDAT", zlib.compress(raw))
		+ chunk(b"IEND", b"")
	)


class Planter:
	"""True for ``rate`` of the calls, evenly spread, the first call included (rates hold at any scale)."""

	def __init__(self, rate: float):
		self.rate = rate
		self.seen = 0

	def __call__(self) -> bool:
		hit = math.ceil((self.seen + 1) * self.rate - 1e-9) > math.ceil(self.seen * self.rate - 1e-9)
		self.seen += 1
		return hit


class Writer:
	"""Buffers rows per table and writes them as multi-row INSERTs (PyMySQL's executemany)."""

	def __init__(self, conn):
		self.conn = conn
		self.buffers: dict[str, list[tuple]] = {}
		self.counts: dict[str, int] = {}

	def add(self, table: str, row: tuple) -> None:
		buffer = self.buffers.setdefault(table, [])
		buffer.append(row)
		if len(buffer) >= BATCH:
			self.flush(table)

	def flush(self, table: str | None = None) -> None:
		for name in [table] if table else list(self.buffers):
			rows = self.buffers.get(name)
			if not rows:
				continue
			columns = COLUMNS[name].split()
			sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
			with self.conn.cursor() as cur:
				cur.executemany(sql, rows)
			self.counts[name] = self.counts.get(name, 0) + len(rows)
			rows.clear()


MINIMUMS = {"product": 24, "staff": 3}  # enough products for every category at tiny scales


def scaled_count(name: str, scale: float) -> int:
	return max(MINIMUMS.get(name, 1), round(TARGETS[name] * scale))


def random_phone(rng: random.Random) -> str | None:
	area, a, b = rng.choice(("450", "514", "438")), rng.randrange(200, 999), rng.randrange(10000)
	kind = rng.randrange(10)
	return [
		f"({area}) {a}-{b:04d}",
		f"{area}-{a}-{b:04d}",
		f"{area}.{a}.{b:04d}",
		f"{area}{a}{b:04d}",
		f"1-{area}-{a}-{b:04d}",
		f"{a}-{b:04d}",  # no area code: the region's 450
		f"{area} {a} {b:04d} poste 12",
		"",
		None,
		"0",
	][kind]


def random_email(rng: random.Random, first: str, last: str, n: int) -> str | None:
	base = f"{first}.{last}{n}".lower().replace(" ", "")
	kind = rng.randrange(12)
	if kind < 6:
		return f"{base}@videotron.ca"
	return [
		f"  {base.upper()}@Gmail.com ",
		f"{base}@hotmail.com; {base}2@gmail.com",
		"aucun",
		"",
		None,
		f"{base}@@sympatico.ca",
	][kind - 6]


def iso_days(start: date, end: date) -> dict[int, str]:
	return {d: (date.fromordinal(d)).isoformat() for d in range(start.toordinal(), end.toordinal() + 1)}


def write_work_orders(
	out, rng, accounts, tickets_of, technicians, day, snapshot, planted, count, staff_count
):
	"""The work orders (bon_travail), with their planted problems (generate.py's docstring)."""
	no_technician = Planter(RATES["work_order_no_technician"])
	stale = Planter(RATES["work_order_stale_open"])
	zero_done = Planter(RATES["work_order_zero_done"])
	kinds = ("installation", "reparation", "entretien", "retrait", "Réparation ", "INSTALLATION")
	for w in range(1, count + 1):
		a, created, _m, active, deliveries, _s = accounts[(w * 104729) % len(accounts)]
		planned = rng.randrange(created, snapshot + 30)
		status = 0 if planned >= snapshot else rng.choice((1, 1, 1, 2))
		kind = rng.choice(kinds)
		staff_id = rng.choice(technicians)
		if no_technician():  # a technician deleted from staff, or none chosen
			staff_id = rng.choice((None, 0, staff_count + 1000 + w))
			planted["work_orders_no_technician"] += 1
		if status != 0 and planned < snapshot - 60 and stale():
			status = 0  # never closed in the PHP app
			planted["work_orders_stale_open"] += 1
		done = f"{day[planned]} 14:00:00" if status == 1 else None
		if done and zero_done():
			done = "0000-00-00 00:00:00"
			planted["work_orders_zero_done"] += 1
		ticket = None
		if (
			kind.strip().lower().startswith(("reparation", "réparation"))
			and tickets_of.get(a)
			and rng.random() < 0.5
		):
			ticket = tickets_of[a][-1]
		note_text = rng.choice(
			(
				None,
				"",
				"Client absent, rappeler.",
				"Fibre tirée, ONT installé.",
				mojibake("Prise déplacée au sous-sol."),
				"Modem remplacé.",
			)
		)
		out.add("bon_travail", (w, a, deliveries[0] if deliveries else None, ticket, kind, status,
			day[planned], done, staff_id, note_text))  # fmt: skip


def write_journal_pieces(book, rng, first, snapshot, day, planted, count):
	"""The manual pieces (ecritures no document covers), a few unbalanced; ``book`` writes one."""
	unbalanced = Planter(RATES["unbalanced_piece"])
	for p in range(1, count + 1):
		when = rng.randrange(first, snapshot)
		cents = rng.randrange(1000, 500000)
		debit_account, credit_account = rng.choice(((6, 2), (7, 2), (2, 8)))
		short = 0
		if unbalanced():  # a typo the PHP app let through: the piece does not balance
			short = 1
			planted["unbalanced_pieces"] += 1
		book(f"JV{p:06d}", day[when], ((debit_account, cents), (credit_account, short - cents)),
			"Écriture manuelle")  # fmt: skip
