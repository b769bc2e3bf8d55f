"""``bench --site <site> gigafibre-legacy import|verify|status`` (listed in gigafibre_fsm/commands.py)."""

from __future__ import annotations

import json
import sys
import time

import click
from frappe.commands import get_site, pass_context


def _connect(context):
	import frappe

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	frappe.set_user("Administrator")
	return frappe


@click.group("gigafibre-legacy")
def legacy():
	"""Migrate the legacy PHP system's database (gestionclient) into ERPNext."""


@legacy.command("import")
@click.option("--source", required=True, help="mysql://user:password@host:3306/gestionclient")
@click.option(
	"--only",
	default=None,
	help="Comma-separated steps: items,customers,locations,subscriptions,equipment,staff,invoices,"
	"payments,journal,tickets,work_orders",
)
@click.option(
	"--since",
	default=None,
	help="YYYY-MM-DD: also re-read the accounts, invoices and payments modified since that day "
	"(new rows are always picked up after the checkpoints)",
)
@click.option("--quiet", is_flag=True, default=False, help="No progress bars")
@click.option(
	"--writers",
	type=int,
	default=None,
	help="Connections writing invoice, payment and message batches in the background (default 2)",
)
@pass_context
def import_(context, source, only=None, since=None, quiet=False, writers=None):
	"""Import (or resume, or bring up to date) from the legacy database."""
	frappe = _connect(context)
	try:
		from gigafibre_fsm.legacy.importer import Importer

		started = time.monotonic()
		try:
			importer = Importer(source, only=only, since=since, progress=not quiet)
			if writers:
				importer.writers = max(1, writers)
		except ValueError as e:
			raise click.UsageError(str(e))
		run = importer.run()
		doc = frappe.get_doc("Legacy Import Run", run)
		click.echo(
			f"{run}: {doc.status}, {doc.rows_written:,} rows written in {time.monotonic() - started:.1f}s"
		)
		for key, value in sorted(json.loads(doc.counts or "{}").items()):
			click.echo(
				f"  {key:24} read {value['read']:>9,}  written {value['written']:>9,}  skipped {value['skipped']:>7,}"
			)
		click.echo(json.dumps(json.loads(doc.report or "{}"), indent=1, ensure_ascii=False))
	finally:
		frappe.destroy()


@legacy.command("verify")
@click.option("--source", required=True, help="mysql://user:password@host:3306/gestionclient")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the whole report as JSON")
@pass_context
def verify_(context, source, as_json=False):
	"""Reconcile ERPNext with the legacy database to the cent; exit 1 on any difference."""
	frappe = _connect(context)
	try:
		from gigafibre_fsm.legacy.verify import SHOWN, verify

		report = verify(source)
		if as_json:
			click.echo(json.dumps(report, indent=1, ensure_ascii=False))
		for name, check in report["checks"].items():
			diffs = check["differences"]
			summary = {k: v for k, v in check.items() if k not in ("differences", "years")}
			click.secho(
				f"{'OK ' if not diffs else 'FAIL'} {name}: {json.dumps(summary, ensure_ascii=False)}",
				fg="green" if not diffs else "red",
			)
			for line in diffs[:SHOWN]:
				click.echo(f"     {line}")
			if len(diffs) > SHOWN:
				click.echo(f"     ... {len(diffs) - SHOWN} more")
		click.echo(f"verify: {report['seconds']}s")
		if not report["ok"]:
			sys.exit(1)
	finally:
		frappe.destroy()


@legacy.command("status")
@click.option("--limit", default=5, help="How many runs to show")
@pass_context
def status(context, limit=5):
	"""The last import runs: when, from where, what, counts per table."""
	frappe = _connect(context)
	try:
		runs = frappe.get_all(
			"Legacy Import Run",
			fields=[
				"name",
				"source",
				"status",
				"started_at",
				"finished_at",
				"rows_written",
				"counts",
				"checkpoints",
			],
			order_by="creation desc",
			limit=limit,
		)
		if not runs:
			click.echo("No legacy import has run on this site.")
		for run in runs:
			click.echo(
				f"{run.name} {run.status} {run.started_at} → {run.finished_at or '…'} from {run.source}: {run.rows_written or 0:,} rows"
			)
			for key, value in sorted(json.loads(run.counts or "{}").items()):
				click.echo(f"  {key:24} written {value['written']:>9,}  skipped {value['skipped']:>7,}")
			click.echo(f"  checkpoints {run.checkpoints}")
		for doctype, field in (("Customer", "legacy_account_id"), ("Service Location", "legacy_delivery_id"),
			("Service Subscription", "legacy_service_id"), ("Service Equipment", "legacy_device_id"),
			("Sales Invoice", "legacy_invoice_id"), ("Payment Entry", "legacy_payment_id"),
			("Issue", "legacy_ticket_id"), ("Employee", "legacy_staff_id"), ("Technician", "legacy_staff_id"),
			("Dispatch Job", "legacy_work_order_id"), ("Journal Entry", "legacy_piece")):  # fmt: skip
			click.echo(
				f"{doctype:22} {frappe.db.count(doctype, {field: ['is', 'set']}):>9,} with a legacy id"
			)
	finally:
		frappe.destroy()


@legacy.command("purge")
@click.option("--yes", is_flag=True, default=False, help="Confirm: delete every imported legacy document")
@click.option("--source", default=None, help="The legacy database, to also remove the items of its SKUs")
@pass_context
def purge_(context, yes=False, source=None):
	"""Remove what legacy imports wrote (trial sites only: submitted documents are deleted)."""
	if not yes:
		raise click.UsageError("this deletes every imported legacy document: add --yes")
	frappe = _connect(context)
	try:
		from gigafibre_fsm.legacy.purge import purge

		skus = None
		if source:
			from gigafibre_fsm.connectors import legacy_source

			conn = legacy_source.connect(source)
			with conn.cursor() as cur:
				cur.execute("SELECT sku FROM product")
				skus = [r[0] for r in cur.fetchall()]
			conn.close()
		done = purge(skus)
		frappe.db.commit()
		for doctype, count in done.items():
			click.echo(f"{doctype:22} {count:>9,} deleted")
	finally:
		frappe.destroy()
