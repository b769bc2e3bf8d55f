"""Bench commands of the app (Frappe reads the ``commands`` list of ``<app>/commands.py``).

``bench --site <site> gigafibre-import-footprint --addresses served.csv --zones zones.geojson [--dry-run]``
imports the served addresses and the zones (see ``gigafibre_fsm.customers.footprint_import.import_footprint``).
``bench --site <site> gigafibre-export-openapi [--output docs/openapi.json] [--check]`` writes (or checks)
the OpenAPI description of every whitelisted method (``gigafibre_fsm.openapi``).
``bench --site <site> gigafibre-demo [--customers 240] [--force] [--remove] [--serve-peers]`` loads
(or removes) the demo ISP and serves its fake peers (``gigafibre_fsm.gigafibre_integrations.demo``).
``bench --site all gigafibre-flow-waker [--every 5]`` wakes due flow runs every few seconds, beside
``bench schedule`` (``gigafibre_fsm.flows.waker``).
"""

from __future__ import annotations

import sys

import click
from frappe.commands import get_site, pass_context

from gigafibre_fsm.legacy.commands import legacy
from gigafibre_fsm.openapi import export_openapi


def _read(path: str | None) -> str | None:
	if not path:
		return None
	with open(path, encoding="utf-8-sig", newline="") as fh:
		return fh.read()


def _progress(label: str, done: int, total: int) -> None:
	from frappe.utils import update_progress_bar

	update_progress_bar(label, done - 1, total)
	if done >= total:
		click.echo()


def _print_report(report: dict) -> None:
	zones, addresses = report["zones"], report["addresses"]
	click.echo(
		f"Zones: {zones['created']} created, {zones['updated']} updated, {zones['unchanged']} unchanged"
	)
	click.echo(
		f"Addresses: {addresses['created']} created, {addresses['updated']} updated, "
		f"{addresses['unchanged']} unchanged, {addresses['not_in_file']} in the database but not in the file (kept)"
	)
	skipped = report["skipped"]
	click.echo(f"Skipped lines: {len(skipped)}")
	for line in skipped:
		click.echo(f"  line {line['line']}: {line['reason']}")
	if report["dry_run"]:
		click.secho("Dry run: nothing was written.", fg="yellow")


@click.command("gigafibre-import-footprint")
@click.option(
	"--addresses",
	type=click.Path(exists=True, dir_okay=False),
	help="CSV of the served addresses (civic_number, street, municipality, zone, connection_type, ...)",
)
@click.option(
	"--zones",
	type=click.Path(exists=True, dir_okay=False),
	help="GeoJSON FeatureCollection of the zones (zone, name, connection_type, served, plans, ...)",
)
@click.option("--dry-run", is_flag=True, default=False, help="Check and count, write nothing")
@pass_context
def import_footprint(context, addresses=None, zones=None, dry_run=False):
	"""Import the served addresses (CSV) and the zones (GeoJSON): all or nothing, re-runs update in place."""
	import frappe

	from gigafibre_fsm.customers import footprint_import

	if not addresses and not zones:
		raise click.UsageError("give --addresses, --zones or both")
	site = get_site(context)
	addresses_text, zones_text = _read(addresses), _read(zones)
	frappe.init(site=site)
	frappe.connect()
	try:
		try:
			report = footprint_import.import_footprint(
				addresses_text, zones_text, dry_run=dry_run, progress=_progress
			)
		except frappe.ValidationError as e:
			frappe.db.rollback()
			click.secho(f"Nothing was imported: {frappe.utils.strip_html(str(e))}", fg="red", err=True)
			sys.exit(1)
		except Exception:
			frappe.db.rollback()
			raise
		if dry_run:
			frappe.db.rollback()
		else:
			frappe.db.commit()  # bumps the footprint version (after commit): every worker rebuilds
		_print_report(report)
	finally:
		frappe.destroy()


@click.command("gigafibre-demo")
@click.option("--customers", default=240, show_default=True, help="How many demo customers")
@click.option("--technicians", default=12, show_default=True, help="How many demo technicians")
@click.option("--force", is_flag=True, default=False, help="Load even if the site has customers of its own")
@click.option("--remove", is_flag=True, default=False, help="Delete what the demo made, nothing else")
@click.option(
	"--serve-peers",
	is_flag=True,
	default=False,
	help="Start the fake GenieACS, OLT (SNMP), TP-Link and Traccar peers on loopback and point the site at them",
)
@pass_context
def demo_command(context, customers=240, technicians=12, force=False, remove=False, serve_peers=False):
	"""A small demo ISP around Sainte-Clotilde: technicians, customers, equipment, a week of jobs."""
	import time

	import frappe

	from gigafibre_fsm.gigafibre_integrations import demo, demo_peers

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		try:
			if remove:
				counts = demo.remove()
				frappe.db.commit()
				click.echo("Demo removed: " + ", ".join(f"{n} {dt}" for dt, n in counts.items()))
				return
			if not demo.read_manifest():
				counts = demo.load(
					customers=customers, technicians=technicians, force=force, progress=_progress
				)
				frappe.db.commit()
				click.echo("Demo loaded: " + ", ".join(f"{n} {dt}" for dt, n in counts.items()))
			elif not serve_peers:
				click.echo("The demo is already loaded (--remove deletes it).")
		except frappe.ValidationError as e:
			frappe.db.rollback()
			click.secho(frappe.utils.strip_html(str(e)), fg="red", err=True)
			sys.exit(1)
		if serve_peers:
			peers = demo_peers.start()
			click.echo(f"GenieACS NBI  {peers.genieacs.url}")
			click.echo(f"TP-Link modem {peers.tplink.url}")
			click.echo(f"Traccar       {peers.traccar.url}")
			for name, agent in peers.agents.items():
				click.echo(f"OLT {name}  udp:{agent.host}:{agent.port}")
			for note in peers.notes:
				click.secho(note, fg="yellow")
			click.echo("Gigafibre Settings point at these peers. Ctrl-C stops them.")
			try:
				while True:
					time.sleep(3600)
			except KeyboardInterrupt:
				pass
			finally:
				peers.stop()
	finally:
		frappe.destroy()


@click.command("gigafibre-flow-waker")
@click.option("--every", type=float, default=5.0, show_default=True, help="Seconds between passes")
@click.option("--force", is_flag=True, default=False, help="Also on sites whose scheduler is inactive")
@pass_context
def flow_waker(context, every=5.0, force=False):
	"""Wake due flow runs every few seconds (the tick wakes them once a minute); runs until killed."""
	from gigafibre_fsm.flows.waker import serve

	sites = list(context.sites or [])
	if not sites:
		click.secho("Name the sites: bench --site all gigafibre-flow-waker", fg="red", err=True)
		sys.exit(1)
	try:
		serve(sites, every=max(0.5, every), force=force)
	except KeyboardInterrupt:
		pass


commands = [import_footprint, export_openapi, legacy, demo_command, flow_waker]
