"""The demo's outside world on loopback (``bench --site <site> gigafibre-demo --serve-peers``).

Starts the fake peers the package ships — a GenieACS NBI holding one TR-181 document per
demo ONT, an SNMP agent (net-snmp's snmpd) per demo OLT serving the table generated from
the demo's seed, a TP-Link EX modem and a Traccar server with one device per technician —
and points Gigafibre Settings, the demo OLTs and a few demo modems at them. Nothing here
runs against a real system; it exists so that the desk's "Diagnose" answers on a demo site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import frappe

from gigafibre_fsm.fakepeers import cpe_documents
from gigafibre_fsm.fakepeers.genieacs import FakeGenieACS
from gigafibre_fsm.fakepeers.olt_agent import OltAgent, snmpd_path
from gigafibre_fsm.fakepeers.tplink import FakeTPLinkEX
from gigafibre_fsm.fakepeers.traccar import FakeTraccar
from gigafibre_fsm.gigafibre_integrations import demo, demo_loader

MODEM_USER, MODEM_PASSWORD = "admin", "demo-modem"
TRACCAR_TOKEN = "demo-traccar-token"
MODEMS_ON_THE_BRIDGE = 3  # demo ONTs whose web UI the TP-Link fake answers for


@dataclass
class DemoPeers:
	genieacs: FakeGenieACS
	tplink: FakeTPLinkEX
	traccar: FakeTraccar
	agents: dict[str, OltAgent] = field(default_factory=dict)
	notes: list[str] = field(default_factory=list)

	def stop(self) -> None:
		for peer in (self.genieacs, self.tplink, self.traccar, *self.agents.values()):
			try:
				peer.stop()
			except Exception:
				pass


def _equipment(manifest: dict) -> list:
	names = (manifest.get("documents") or {}).get("Service Equipment") or []
	return frappe.get_all(
		"Service Equipment",
		filters={"name": ["in", names], "equipment_type": "ONT"},
		fields=["name", "serial_no", "olt", "pon_port", "ont_id", "acs_device_id", "last_online"],
		order_by="name asc",
		limit_page_length=0,
	)


def start(*, snmp: bool = True) -> DemoPeers:
	"""Start the peers and point the site at them (committed). Call ``stop()`` when done."""
	manifest = demo.read_manifest()
	if not manifest:
		frappe.throw(frappe._("No demo is loaded on this site"), demo.DemoRefused)
	tables = demo_loader.olt_tables(manifest["customers"])
	truths = {
		(olt, f"{t.frame}/{t.slot}/{t.port}", t.ont): t for olt, table in tables.items() for t in table.onts
	}
	now = datetime.now(UTC)
	docs = []
	rows = _equipment(manifest)
	for n, row in enumerate(rows):
		truth = truths.get((row.olt, row.pon_port, row.ont_id))
		online = truth is None or truth.status == "online"
		docs.append(
			cpe_documents.xx230v_document(
				row.serial_no,
				seed=n + 1,
				last_inform=now - timedelta(minutes=1 + n % 8) if online else now - timedelta(days=2),
				rx_dbm=(truth.rx_dbm if truth and truth.rx_dbm is not None else -18.4) if online else None,
				optical_status="Up" if online else "Down",
				mesh_nodes=n % 3,
				wan_ip=f"142.169.{10 + n // 250}.{1 + n % 250}",
			)
		)
	peers = DemoPeers(
		genieacs=FakeGenieACS(docs).start(),
		tplink=FakeTPLinkEX(username=MODEM_USER, password=MODEM_PASSWORD).start(),
		traccar=FakeTraccar(TRACCAR_TOKEN).start(),
	)
	try:
		if snmp and snmpd_path():
			for name, _vendor, _profile, community, _seed in demo_loader.OLTS:
				peers.agents[name] = OltAgent(tables[name], communities=(community,)).start()
		else:
			peers.notes.append("snmpd is not installed: the OLT source answers with a timeout")
		techs = (manifest.get("documents") or {}).get("Technician") or []
		for row in frappe.get_all(
			"Technician",
			filters={"name": ["in", techs]},
			fields=["traccar_device_id", "home_latitude", "home_longitude", "technician_name"],
			limit_page_length=0,
		):
			if row.traccar_device_id:
				device = int(row.traccar_device_id)
				peers.traccar.add_device(device, row.technician_name)
				peers.traccar.set_position(device, row.home_latitude + 0.004, row.home_longitude - 0.003)
		configure(peers, rows)
		from gigafibre_fsm.dispatch.jobs import poll_positions

		poll_positions()  # the board's map has positions at once (the scheduler polls every minute)
		frappe.db.commit()
	except Exception:
		peers.stop()
		raise
	return peers


def configure(peers: DemoPeers, rows: list) -> None:
	settings = frappe.get_doc("Gigafibre Settings", "Gigafibre Settings", for_update=True)
	settings.update(
		{
			"genieacs_nbi_url": peers.genieacs.url,
			"genieacs_timeout": 5,
			"modem_bridge_enabled": 1,
			"modem_admin_username": MODEM_USER,
			"modem_admin_password": MODEM_PASSWORD,
			"modem_timeout": 10,
			"snmp_timeout": 2,
			"snmp_retries": 1,
			"traccar_url": peers.traccar.url,
			"traccar_token": TRACCAR_TOKEN,
		}
	)
	settings.flags.ignore_permissions = True
	settings.save()
	for name, agent in peers.agents.items():
		ne = frappe.get_doc("Network Element", name)
		ne.host, ne.snmp_port = agent.host, agent.port
		ne.flags.ignore_permissions = True
		ne.save()
	for row in rows[:MODEMS_ON_THE_BRIDGE]:
		frappe.db.set_value(
			"Service Equipment", row.name, "ip_address", peers.tplink.url, update_modified=False
		)
	frappe.db.commit()
