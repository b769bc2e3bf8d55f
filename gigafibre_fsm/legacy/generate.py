"""Fill the legacy schema (schema.sql) with generated data at production scale, deterministically.

``python -m gigafibre_fsm.legacy.generate --database gestionclient --seed 1 --scale 1.0``
(re)creates the database and writes, at scale 1.0, the production figures of shared/FACTS.md:
15,303 accounts, 17,114 addresses, 66,879 services, ~630K invoices with ~1.86M lines, ~541K
payments with ~685K payment lines, ~243K tickets with ~784K messages (~8K carrying a base64
image), 10,377 devices, 833 products, 155 staff. Counts scale linearly with ``--scale``.

The known problems of the real database are planted at fixed rates, every ``1 / rate``-th
eligible row starting with the first one, so that even a tiny scale has each of them:

- credit notes (``invoice.type = 'C'``, negative amounts) that do not name the invoice they
  cancel (``credit_of`` NULL for 96 % of them); 85 % cancel a whole invoice, the rest one line;
- for 78 % of the whole-invoice credits, a fake ``reversement`` payment of the cancelled
  invoice's total allocated to it: counted as money it is a phantom overpayment;
- duplicate portal payments: a second payment row with the same Stripe reference, amount and
  invoice (the customer was charged once);
- unsalted MD5 passwords; accounts without any delivery address;
- invoice and payment dates at ``0000-00-00`` or in the future (a year typed 2031);
- names and addresses stored as UTF-8 bytes in latin1 columns (mojibake ``Ã©``), phones and
  e-mails in every format a free-text field collects, empty strings beside NULLs;
- work orders (``bon_travail``) naming no technician (NULL, 0 or a deleted staff row), left
  planned long after their day (never closed), done with a ``0000-00-00`` date; their types typed
  freely ("Réparation ", "INSTALLATION"); staff without e-mail, inactive, with mojibake names.
  Work orders name only the technicians (staff ids 1, 2, 6, 7, ...: ``id % 5`` in 1, 2);
- the accounting entries (``ecritures``): each invoice, credit note and payment booked (receivable,
  sales, TPS, TVQ, bank; the reversements and duplicates too: that is how the phantom got into the
  books), plus manual pieces no document covers, a few of which do not balance.

Pure Python plus PyMySQL (Frappe's own MariaDB driver); no Frappe. Bulk multi-row INSERTs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import math
import random
import sys
import time
from datetime import date
from pathlib import Path

from gigafibre_fsm.legacy.generate_billing import Billing
from gigafibre_fsm.legacy.generate_rows import (
	CATEGORIES,
	CITIES,
	FIRST_DAY,
	FIRST_NAMES,
	LAST_NAMES,
	RATES,
	SNAPSHOT,
	STREETS,
	SUBJECTS,
	TARGETS,
	Planter,
	Writer,
	iso_days,
	mojibake,
	money,
	random_email,
	random_phone,
	scaled_count,
	tiny_png,
	write_journal_pieces,
	write_work_orders,
)

SCHEMA = Path(__file__).with_name("schema.sql")


def generate(conn, seed: int = 1, scale: float = 1.0, progress=None) -> dict:
	"""Write the whole database through ``conn`` (a PyMySQL connection on an empty database
	whose tables exist); returns the counts and what was planted."""
	rng = random.Random(seed)
	out = Writer(conn)
	day = iso_days(FIRST_DAY, date(2032, 12, 31))
	snapshot = SNAPSHOT.toordinal()
	first = FIRST_DAY.toordinal()
	planted = {
		"accounts_without_address": 0,
		"credit_notes": 0,
		"credit_notes_named": 0,
		"credit_notes_partial": 0,
		"reversements": 0,
		"reversement_cents": 0,
		"duplicate_stripe": 0,
		"duplicate_stripe_cents": 0,
		"zero_dates": 0,
		"future_dates": 0,
		"mojibake_accounts": 0,
		"void_invoices": 0,
		"work_orders_no_technician": 0,
		"work_orders_stale_open": 0,
		"work_orders_zero_done": 0,
		"unbalanced_pieces": 0,
	}
	md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731 (the legacy hash, unsalted)

	def note(stage: str) -> None:
		out.flush()
		if progress:
			progress(stage, dict(out.counts))

	# -- reference tables ---------------------------------------------------------------
	for i in range(1, scaled_count("staff", scale) + 1):
		first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
		login = f"{first_name[0]}{last_name}{i}".lower()
		if i % 10 == 0:  # written through a latin1 connection, like the accounts
			first_name, last_name = mojibake(first_name), mojibake(last_name)
		out.add(
			"staff",
			(i, login, first_name, last_name, "" if i % 13 == 0 else f"staff{i}@gigafibre.ca",
			 md5(f"pass{i}"), int(i % 3 == 0), int(i % 9 != 0), f"{day[first + i]} 09:00:00"),
		)  # fmt: skip
	staff_count = scaled_count("staff", scale)
	technicians = [i for i in range(1, staff_count + 1) if i % 5 in (1, 2)]  # who work orders name
	out.add("tax", (1, "TPS", "TPS", "5.0000", "2310"))
	out.add("tax", (2, "TVQ", "TVQ", "9.9750", "2320"))
	accounts_chart = [("1100", "Comptes clients", "actif"), ("1010", "Banque", "actif"), ("2310", "TPS à payer", "passif"),
		("2320", "TVQ à payer", "passif"), ("4000", "Ventes services", "revenu"), ("5100", "Frais bancaires", "depense"),
		("5200", "Salaires", "depense"), ("3000", "Capital", "capital")]  # fmt: skip
	for i, (numero, nom, kind) in enumerate(accounts_chart, 1):
		out.add("compta_comptes", (i, numero, nom, kind))
	for i, name in enumerate(CATEGORIES, 1):
		out.add("product_cat", (i, name))
	products: list[tuple[int, int, str]] = []  # (id, price cents, sku)
	product_count = scaled_count("product", scale)
	for i in range(1, product_count + 1):
		cat = (i - 1) % len(CATEGORIES) + 1
		annual = i % 7 == 0
		speed = rng.choice((10, 25, 50, 100, 250, 500, 1000)) if cat == 1 else None
		price = rng.randrange(300, 3600, 5)
		sku = f"{CATEGORIES[cat - 1][:3].upper()}-{i:04d}" + ("-ANN" if annual else "")
		price = price * 10 if annual else price
		name = f"{CATEGORIES[cat - 1]} {speed or i}" + (" annuel" if annual else "")
		out.add(
			"product",
			(i, cat, sku, name, money(price), speed, speed and max(1, speed // 10), 1, int(i % 11 != 0)),
		)
		products.append((i, price, sku))
	note("products")

	# -- accounts, addresses, services ----------------------------------------------------
	n_accounts = scaled_count("account", scale)
	with_address = n_accounts - math.ceil(n_accounts * RATES["account_without_address"] - 1e-9)
	extra_addresses = max(0, scaled_count("delivery", scale) - with_address)
	no_address = Planter(RATES["account_without_address"])
	moji = Planter(RATES["mojibake"])
	months_weights = [rng.random() + 0.05 for _ in range(n_accounts)]
	total_weight = sum(months_weights)
	target_invoices = scaled_count("invoice", scale) / (1 + RATES["credit_note"])
	accounts = []  # (id, created ordinal, months, active, deliveries, services)
	delivery_id = service_id = 0
	n_services_target = scaled_count("service", scale)
	services_left = n_services_target
	for a in range(1, n_accounts + 1):
		months = max(1, round(target_invoices * months_weights[a - 1] / total_weight))
		months = min(months, 170)
		status = 1 if rng.random() < 0.43 else rng.choice((0, 0, 0, 3, 2))
		if status in (1, 2):
			created = snapshot - months * 30 - rng.randrange(0, 20)
		else:
			latest = snapshot - months * 30 - 30
			created = rng.randrange(first, max(first + 1, latest))
		created = max(created, first)
		first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
		street = f"{rng.randrange(1, 3000)} {rng.choice(STREETS)}"
		city = rng.choice(CITIES)
		accented = any(ord(c) > 127 for c in first_name + last_name + street + city)
		if accented and moji():
			first_name, last_name, street, city = map(mojibake, (first_name, last_name, street, city))
			planted["mojibake_accounts"] += 1
		company = f"Ferme {last_name} inc." if a % 25 == 0 else rng.choice((None, ""))
		out.add(
			"account",
			(a, f"C{a:06d}" if a % 50 else None, company, first_name, last_name, street, city, "QC",
			 rng.choice(("J0L 1Z0", "j0l1z0", "J0L1Z0", "", None)), random_phone(rng), random_phone(rng),
			 random_email(rng, first_name, last_name, a), random_email(rng, first_name, last_name, a) if a % 3 == 0 else None,
			 "fr" if a % 9 else "en", md5(f"secret{a % 97}"), status, rng.choice((None, 1, 1, 15)),
			 None if a % 4 else "", f"{day[created]} 10:{a % 60:02d}:00" if a % 400 else "0000-00-00 00:00:00",
			 f"{day[created]} 10:00:00"),
		)  # fmt: skip
		deliveries = []
		if no_address():
			planted["accounts_without_address"] += 1
		else:
			n_del = 1 + (1 if rng.random() * max(1, with_address) < extra_addresses else 0)
			with_address -= 1
			extra_addresses -= n_del - 1
			for k in range(n_del):
				delivery_id += 1
				deliveries.append(delivery_id)
				out.add(
					"delivery",
					(delivery_id, a, street if k == 0 else f"{rng.randrange(1, 3000)} {rng.choice(STREETS)}",
					 rng.choice((None, "", "app. 2")), city, "QC", "J0L 1Z0",
					 f"{45.1 + rng.random() / 5:.7f}", f"{-73.7 + rng.random() / 5:.7f}", None,
					 f"{day[created]} 10:00:00"),
				)  # fmt: skip
				if rng.random() < 0.95:
					out.add(
						"fibre",
						(delivery_id, delivery_id, rng.choice(("FTTH", "FTTH", "FTTH", "FTTB", "Cable", "DSL")),
						 f"OLT-{delivery_id % 30 + 1:02d}", f"0/{delivery_id % 16}/{delivery_id % 8}",
						 delivery_id % 128, 100 + delivery_id % 50),
					)  # fmt: skip
		left_accounts = n_accounts - a + 1
		n_serv = max(1, round(services_left / left_accounts + rng.uniform(-1.5, 1.5)))
		n_serv = min(n_serv, services_left - (left_accounts - 1)) if services_left > left_accounts else 1
		if left_accounts == 1:
			n_serv = max(1, services_left)
		services = []  # (id, price cents, product id)
		for _ in range(n_serv):
			service_id += 1
			services_left -= 1
			pid, price, sku = products[rng.randrange(len(products))]
			recurrence = 0 if sku.endswith("ANN") else (5 if rng.random() < 0.05 else 2)
			s_status = 1 if status in (1, 2) and rng.random() < 0.9 else 0
			if s_status == 1 and rng.random() < 0.05:
				s_status = 2
			own_price = None if rng.random() < 0.3 else price
			until = None
			if s_status == 0:
				until = day[min(snapshot - 1, created + months * 30)]
			elif rng.random() < 0.2:
				until = day[snapshot + rng.randrange(30, 700)]
			since = day[created] if rng.random() > 0.002 else "0000-00-00"
			out.add(
				"service",
				(service_id, a, rng.choice(deliveries) if deliveries else None, pid,
				 None if own_price is None else money(own_price), recurrence, s_status, since, until,
				 until if s_status == 0 and rng.random() < 0.5 else None,
				 day[min(snapshot, created + months * 30)], f"{day[created]} 10:00:00"),
			)  # fmt: skip
			services.append((service_id, own_price if own_price is not None else price, pid, recurrence))
		accounts.append((a, created, months, status in (1, 2), deliveries, services))
	note("accounts")

	# -- invoices, credit notes, payments -------------------------------------------------
	billing = Billing(out, rng, day, snapshot, planted, staff_count)
	billing.run(accounts, products)
	truth = billing.truth
	note("invoices and payments")

	# -- journal pieces (entries no invoice or payment covers) ------------------------------
	write_journal_pieces(
		billing.book, rng, first, snapshot, day, planted, scaled_count("journal_piece", scale)
	)
	note("journal")

	# -- tickets and messages ---------------------------------------------------------------
	n_tickets = scaled_count("ticket", scale)
	msg_target = scaled_count("ticket_msg", scale)
	image = Planter(TARGETS["ticket_image"] / TARGETS["ticket_msg"])
	msg_id = 0
	tickets_of: dict[int, list[int]] = {}  # account -> its tickets (a repair order may name one)
	for t in range(1, n_tickets + 1):
		a, created, months, active, deliveries, _services = accounts[rng.randrange(len(accounts))]
		opened = rng.randrange(created, min(snapshot, created + months * 30 + 30) + 1)
		status = 0 if opened > snapshot - 20 and rng.random() < 0.5 else 2
		closed = f"{day[min(snapshot, opened + rng.randrange(0, 10))]} 16:00:00" if status == 2 else None
		tickets_of.setdefault(a, []).append(t)
		out.add("ticket", (t, a, deliveries[0] if deliveries else None, rng.choice(SUBJECTS), status,
			rng.choice((0, 1, 1, 2)), rng.randrange(1, staff_count + 1), f"{day[opened]} 09:30:00", closed))  # fmt: skip
		left = n_tickets - t + 1
		n_msg = max(1, round((msg_target - msg_id) / left + rng.uniform(-2, 2)))
		for m in range(n_msg):
			msg_id += 1
			text = rng.choice(("Bonjour, le service est coupé depuis ce matin.", "Technicien envoyé, réglé.",
				"Le client rappellera.", "Merci de votre patience. — L'équipe Gigafibre", "Modem redémarré à distance."))  # fmt: skip
			if image():
				png = base64.b64encode(tiny_png(rng)).decode()
				text += f'<br><img src="data:image/png;base64,{png}" alt="photo">'
			out.add("ticket_msg", (msg_id, t, None if m % 2 == 0 else rng.randrange(1, staff_count + 1),
				int(m % 2 == 0), text, f"{day[min(snapshot, opened + m)]} 10:{m % 60:02d}:00"))  # fmt: skip
	note("tickets")

	# -- devices and work orders ------------------------------------------------------------
	with_address = [acc for acc in accounts if acc[4]]
	for d in range(1, scaled_count("device", scale) + 1):
		a, created, _m, active, deliveries, _s = with_address[(d * 7919) % len(with_address)]
		kind = rng.choice(("ONT", "ONT", "modem", "routeur", "terminal tv", "ata"))
		serial = None if d % 211 == 0 else f"GF{kind[:2].upper()}{d:08d}"
		mac = ":".join(f"{(d >> (8 * i)) & 255:02x}" for i in (5, 4, 3, 2, 1, 0))
		out.add("device", (d, a, deliveries[0], kind, serial, mac.upper() if d % 2 else mac, "TP-Link", "XX230v",
			1 if active else rng.choice((0, 3)), day[created] if d % 50 else None))  # fmt: skip
	write_work_orders(out, rng, accounts, tickets_of, technicians, day, snapshot, planted,
		scaled_count("bon_travail", scale), staff_count)  # fmt: skip
	note("devices and work orders")
	return {"counts": dict(out.counts), "planted": planted, "credit_truth": truth}


def schema_statements() -> list[str]:
	"""schema.sql's statements (comment lines dropped, split on the semicolons that end a line)."""
	text = "\n".join(
		line for line in SCHEMA.read_text(encoding="utf-8").splitlines() if not line.strip().startswith("--")
	)
	return [s.strip() for s in text.split(";\n") if s.strip().rstrip(";")]


def create_database(conn, database: str) -> None:
	"""Drop and create ``database`` and its tables from schema.sql; the connection then uses it."""
	with conn.cursor() as cur:
		cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
		cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET latin1")
		cur.execute(f"USE `{database}`")
		cur.execute("SET unique_checks = 0, foreign_key_checks = 0, sql_mode = ''")
		for statement in schema_statements():
			cur.execute(statement)


def connect(host="127.0.0.1", port=3306, user="root", password="", database=None):
	import pymysql

	return pymysql.connect(
		host=host,
		port=port,
		user=user,
		password=password,
		database=database,
		charset="utf8mb4",
		autocommit=True,
	)


def main(argv=None) -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--database", default="gestionclient")
	parser.add_argument("--host", default="127.0.0.1")
	parser.add_argument("--port", type=int, default=3306)
	parser.add_argument("--user", default="root")
	parser.add_argument("--password", default="")
	parser.add_argument("--seed", type=int, default=1)
	parser.add_argument("--scale", type=float, default=1.0)
	args = parser.parse_args(argv)
	conn = connect(args.host, args.port, args.user, args.password)
	started = time.monotonic()
	create_database(conn, args.database)

	def progress(stage: str, counts: dict) -> None:
		print(f"{time.monotonic() - started:7.1f}s {stage}: {sum(counts.values()):,} rows", file=sys.stderr)

	report = generate(conn, args.seed, args.scale, progress)
	for table, count in sorted(report["counts"].items()):
		print(f"{table:15} {count:>10,}")
	for key, value in report["planted"].items():
		print(f"planted {key:26} {value:>10,}")
	print(f"{time.monotonic() - started:.1f}s")
	return 0


if __name__ == "__main__":
	sys.exit(main())
