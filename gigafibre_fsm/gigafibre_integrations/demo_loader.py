"""What ``bench --site <site> gigafibre-demo`` loads (gigafibre_fsm.gigafibre_integrations.demo):
the demo ISP's places, names, plans and OLTs, and the loader that makes its documents, every
one of them recorded in ``made`` for the manifest.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import frappe
from frappe import _

from gigafibre_fsm.fakepeers import cpe_documents
from gigafibre_fsm.fakepeers.olt_table import HUAWEI, ZTE, generate_table

HQ = (45.1575, -73.6806)  # Sainte-Clotilde
OLTS = (
	# (name, vendor of the generated table, profile, community, seed)
	("DEMO-OLT-CLOTILDE", ZTE, "zte_c300", "demo-clotilde", 1),
	("DEMO-OLT-SAINT-REMI", HUAWEI, "huawei_ma5800", "demo-remi", 2),
)
ONTS_PER_PORT = 32
PLANS = (
	("GF-DEMO-FIBRE-100", "Fibre 100", 100, 20, 59.95),
	("GF-DEMO-FIBRE-500", "Fibre 500", 500, 100, 74.95),
)
PLANS += (("GF-DEMO-FIBRE-1000", "Fibre 1000", 1000, 500, 89.95),)
SKILLS = ("Fibre", "Épissure", "Wi-Fi", "VoIP", "Nacelle")
STREETS = (
	"rue Principale",
	"rue de l'Église",
	"chemin de la Rivière",
	"rang Saint-Simon",
	"rue des Érables",
	"rue des Pins",
	"montée Gagnon",
	"rang du Sud",
	"rue Brisebois",
	"chemin Sainte-Marie",
)
TOWNS = (
	("Sainte-Clotilde", "J0L 1W0", (45.1575, -73.6806)),
	("Saint-Rémi", "J0L 2L0", (45.2628, -73.6124)),
	("Sainte-Martine", "J0S 1V0", (45.2475, -73.8019)),
	("Saint-Urbain-Premier", "J0S 1Y0", (45.2160, -73.7330)),
)
FIRST = (
	"Marie",
	"Jean",
	"Sophie",
	"Luc",
	"Isabelle",
	"Martin",
	"Julie",
	"François",
	"Nathalie",
	"Éric",
	"Catherine",
	"Patrick",
	"Geneviève",
	"Stéphane",
	"Chantal",
	"Mathieu",
	"Annie",
	"Simon",
	"Karine",
	"Alexandre",
)
LAST = (
	"Tremblay",
	"Gagnon",
	"Roy",
	"Côté",
	"Bouchard",
	"Gauthier",
	"Morin",
	"Lavoie",
	"Fortin",
	"Gagné",
	"Ouellet",
	"Pelletier",
	"Bélanger",
	"Lévesque",
	"Bergeron",
	"Leblanc",
	"Paquette",
	"Girard",
	"Simard",
	"Boucher",
)


def olt_tables(customers: int) -> dict:
	"""The generated optical table of each demo OLT (the same seed gives the same table)."""
	per_olt = -(-customers // len(OLTS))
	ports = max(1, -(-per_olt // ONTS_PER_PORT))
	return {
		name: generate_table(vendor, ports=ports, onts_per_port=ONTS_PER_PORT, seed=seed)
		for name, vendor, _profile, _community, seed in OLTS
	}


def _monday(today: date) -> date:
	return today - timedelta(days=today.weekday())


class Loader:
	def __init__(self, customers: int, technicians: int, seed: int, progress=None):
		self.n_customers = customers
		self.n_technicians = technicians
		self.rng = random.Random(seed)
		self.made: dict[str, list[str]] = {}
		self.progress = progress
		self.today = frappe.utils.getdate()
		self.monday = _monday(self.today)

	def keep(self, doc) -> str:
		self.made.setdefault(doc.doctype, []).append(doc.name)
		return doc.name

	def insert(self, values: dict) -> str:
		doc = frappe.get_doc(values)
		doc.flags.ignore_permissions = True
		doc.insert()
		return self.keep(doc)

	# -- reference data

	def reference_data(self):
		self.skills = []
		for skill in SKILLS:
			if not frappe.db.exists("Dispatch Skill", skill):
				self.insert({"doctype": "Dispatch Skill", "skill_name": skill})
			self.skills.append(skill)
		group = frappe.db.get_value("Item Group", {"is_group": 0}, "name")
		self.plans = []
		for code, name, down, up, price in PLANS:
			if not frappe.db.exists("Item", code):
				self.insert(
					{
						"doctype": "Item",
						"item_code": code,
						"item_name": name,
						"item_group": group,
						"stock_uom": "Nos",
						"is_stock_item": 0,
						"gigafibre_down_mbps": down,
						"gigafibre_up_mbps": up,
					}
				)
			self.plans.append((code, name, down, up, price))
		for name, _vendor, profile, community, _seed in OLTS:
			self.insert(
				{
					"doctype": "Network Element",
					"element_name": name,
					"element_type": "OLT",
					"vendor_profile": profile,
					"enabled": 1,
					"host": "127.0.0.1",
					"snmp_port": 16100,  # gigafibre-demo --serve-peers sets the agent's port
					"snmp_community": community,
				}
			)

	def technicians(self):
		rows = []
		start = datetime.combine(self.monday, time(8, 0))
		for n in range(self.n_technicians):
			skills = {"Fibre": self.rng.randint(2, 5)}
			for extra in self.rng.sample(SKILLS[1:], 2):
				skills[extra] = self.rng.randint(1, 5)
			shifts = [
				{
					"kind": "Regular",
					"start": start,
					"end": start + timedelta(hours=8, minutes=30),
					"rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
				}
			]
			if n % 4 == 1:  # Saturday overtime
				sat = datetime.combine(self.monday + timedelta(days=5), time(9, 0))
				shifts.append({"kind": "Extra", "start": sat, "end": sat + timedelta(hours=5)})
			if n % 6 == 2:  # on call in the evening
				evening = datetime.combine(self.monday, time(17, 0))
				shifts.append(
					{
						"kind": "On-Call",
						"start": evening,
						"end": evening + timedelta(hours=5),
						"rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
					}
				)
			town = TOWNS[n % len(TOWNS)]
			rows.append(
				self.insert(
					{
						"doctype": "Technician",
						"technician_name": f"{FIRST[(n * 7) % len(FIRST)]} {LAST[(n * 3 + 5) % len(LAST)]}",
						"active": 1,
						"phone": f"+1450555{1000 + n:04d}",
						"traccar_device_id": str(5001 + n),
						"home_latitude": round(town[2][0] + self.rng.uniform(-0.02, 0.02), 5),
						"home_longitude": round(town[2][1] + self.rng.uniform(-0.02, 0.02), 5),
						"skills": [
							{"skill": s, "level": lvl} for s, lvl in skills.items() if s in self.skills
						],
						"shifts": shifts,
					}
				)
			)
		self.techs = rows

	# -- customers

	def customers(self):
		from gigafibre_fsm.test_utils import make_customer

		tables = olt_tables(self.n_customers)
		slots = [(olt, truth) for olt, table in tables.items() for truth in table.onts]
		self.rng.shuffle(slots)
		self.customer_rows = []
		contract_start = self.today - timedelta(days=400)
		for n in range(self.n_customers):
			first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
			town, postal, (lat, lon) = TOWNS[0] if n % 3 else self.rng.choice(TOWNS)
			customer = make_customer(
				customer_name=f"{first} {last} ({n + 1:03d})",
				cell_phone=f"+1450555{2000 + n:04d}",
				email_billing=f"{first.lower()}.{last.lower()}.{n + 1}@exemple.ca".replace("é", "e")
				.replace("è", "e")
				.replace("ô", "o")
				.replace("ç", "c")
				.replace("É", "e"),
			)
			self.keep(customer)
			olt, truth = slots[n]
			location = self.insert(
				{
					"doctype": "Service Location",
					"customer": customer.name,
					"status": "Active",
					"address_line": f"{self.rng.randint(10, 2999)} {self.rng.choice(STREETS)}",
					"city": town,
					"postal_code": postal,
					"latitude": round(lat + self.rng.uniform(-0.03, 0.03), 6),
					"longitude": round(lon + self.rng.uniform(-0.04, 0.04), 6),
					"connection_type": "FTTH",
					"vlan": 35,
					"olt": olt,
					"olt_port": f"{truth.frame}/{truth.slot}/{truth.port}",
					"ont_id": truth.ont,
				}
			)
			pending = n % 10 == 9
			cancelled = n % 23 == 22
			code, plan_name, down, up, price = self.plans[n % len(self.plans)]
			started = contract_start + timedelta(days=self.rng.randint(0, 380))
			contract = self.insert(
				{
					"doctype": "Service Contract",
					"customer": customer.name,
					"contract_type": "Residential",
					"status": "Signé" if pending else ("Résilié" if cancelled else "Actif"),
					"service_location": location,
					"start_date": started,
					"duration_months": 24,
					"signed_on": datetime.combine(started, time(10, 0)) - timedelta(days=10),
				}
			)
			subscription = {
				"doctype": "Service Subscription",
				"customer": customer.name,
				"service_location": location,
				"service_contract": contract,
				"plan": code,
				"plan_name": plan_name,
				"download_mbps": down,
				"upload_mbps": up,
				"monthly_price": price,
				"billing_cycle": "Monthly",
				"status": "En attente" if pending else ("Annulé" if cancelled else "Actif"),
			}
			if not pending:
				subscription["start_date"] = started
			if cancelled:
				subscription["cancellation_date"] = self.today - timedelta(days=20)
				subscription["end_date"] = self.today - timedelta(days=20)
				subscription["cancellation_reason"] = "Déménagement hors territoire"
			self.insert(subscription)
			ont = None
			if not pending:
				ont = self.equipment(n, customer.name, location, olt, truth)
			self.customer_rows.append(
				frappe._dict(
					customer=customer.name, location=location, pending=pending, cancelled=cancelled, ont=ont
				)
			)
			if self.progress:
				self.progress("Customers", n + 1, self.n_customers)

	def equipment(self, n: int, customer: str, location: str, olt: str, truth) -> str:
		serial = f"2235{n + 1:09d}"
		online = truth.status == "online"
		rx = truth.rx_dbm if online else None
		from gigafibre_fsm.core.diagnostics import optical_status

		inform = frappe.utils.now_datetime() - timedelta(minutes=self.rng.randint(1, 9))
		ont = self.insert(
			{
				"doctype": "Service Equipment",
				"equipment_type": "ONT",
				"status": "Active",
				"serial_no": serial,
				"gpon_serial": truth.serial,
				"cwmp_serial": serial,
				"mac_address": cpe_documents.mac_from(n + 1).upper(),
				"vendor": "TP-Link",
				"model": "XX230v",
				"firmware": "1.2.0 Build 20250610",
				"customer": customer,
				"service_location": location,
				"acs_device_id": cpe_documents.device_id("50C7BF", "XX230v", serial),
				"olt": olt,
				"pon_port": f"{truth.frame}/{truth.slot}/{truth.port}",
				"ont_id": truth.ont,
				"wifi_ssid": f"Gigafibre-{n + 1:04d}",
				"last_online": int(online),
				"last_inform": inform if online else inform - timedelta(days=2),
				"last_rx_dbm": rx,
				"last_optical_status": optical_status(rx, los=truth.status == "los"),
				"last_refresh_at": inform,
			}
		)
		if n % 4 == 0:
			self.insert(
				{
					"doctype": "Service Equipment",
					"equipment_type": "Router",
					"status": "Active",
					"serial_no": f"Y2{n + 1:010d}",
					"mac_address": cpe_documents.mac_from(n + 1, prefix="ac:15:a2").upper(),
					"vendor": "TP-Link",
					"model": "Deco XE75",
					"customer": customer,
					"service_location": location,
				}
			)
		return ont

	# -- dispatch

	def jobs(self):
		kinds = ("Repair", "Repair", "Maintenance", "Installation", "Removal")
		priorities = ("Medium", "Medium", "Low", "High", "Urgent")
		active = [r for r in self.customer_rows if not r.pending and not r.cancelled]
		self.jobs_made = []
		now = frappe.utils.now_datetime()
		for d in range(7):
			day = self.monday + timedelta(days=d)
			if day.weekday() >= 5:
				continue
			for t, tech in enumerate(self.techs):
				for h in (8, 10, 13, 15)[: 2 + (t + d) % 3]:
					start = datetime.combine(day, time(h, 0)) + timedelta(minutes=30 * ((t + d) % 2))
					row = self.rng.choice(active)
					kind = kinds[(t + d + h) % len(kinds)]
					end = start + timedelta(minutes=90)
					if end < now:
						status = "Completed" if (t + h) % 9 else "Cancelled"
					elif start < now:
						status = "On Site"
					elif start < now + timedelta(hours=2):
						status = "En Route"
					else:
						status = "Assigned"
					values = {
						"status": status,
						"technician": tech,
						"scheduled_start": start,
						"window_start": datetime.combine(day, time(8 if h < 12 else 12, 0)),
						"window_end": datetime.combine(day, time(12 if h < 12 else 17, 0)),
					}
					if status in ("Completed", "On Site"):
						values["actual_start"] = start + timedelta(minutes=5)
					if status == "Completed":
						values["actual_end"] = end
						values["completion_processed"] = 1
					self.job(row, kind, priorities[(t * 3 + h) % len(priorities)], 90, values)
		# the pending installations, to plan; and a few repairs waiting for a technician
		for i, row in enumerate([r for r in self.customer_rows if r.pending]):
			day = self.today + timedelta(days=1 + i % 5)
			values = {
				"status": "Draft",
				"window_start": datetime.combine(day, time(8, 0)),
				"window_end": datetime.combine(day, time(17, 0)),
			}
			self.job(row, "Installation", "Medium", 120, values, skills={"Fibre": 2})
		for i in range(8):
			row = self.rng.choice(active)
			values = {"status": "Draft"}
			if i % 2:
				day = self.today + timedelta(days=i % 3)
				values.update(
					{
						"window_start": datetime.combine(day, time(12, 0)),
						"window_end": datetime.combine(day, time(17, 0)),
					}
				)
			self.job(row, "Repair", ("High", "Medium", "Urgent", "Low")[i % 4], 60, values)
		# offers open on three of them
		drafts = [j for j, status in self.jobs_made if status == "Draft"][:3]
		for job in drafts:
			frappe.db.set_value("Dispatch Job", job, "status", "Offered", update_modified=False)
			self.insert(
				{
					"doctype": "Dispatch Offer",
					"job": job,
					"mode": "Broadcast",
					"status": "Open",
					"price": 45,
					"expires_at": now + timedelta(hours=8),
				}
			)

	def job(self, row, kind, priority, minutes, values, skills=None):
		subject = {
			"Repair": "Réparation — pas d'Internet",
			"Maintenance": "Entretien — vérifier le signal optique",
			"Installation": "Installation fibre",
			"Removal": "Retrait de l'équipement",
		}[kind]
		name = self.insert(
			{
				"doctype": "Dispatch Job",
				"job_type": kind,
				"priority": priority,
				"customer": row.customer,
				"service_location": row.location,
				"subject": f"{subject} ({frappe.db.get_value('Service Location', row.location, 'address_line')})",
				"duration_minutes": minutes,
				"source_type": "Manual",
				"required_skills": [{"skill": s, "min_level": lvl} for s, lvl in (skills or {}).items()],
				**values,
			}
		)
		self.jobs_made.append((name, values["status"]))

	# -- flows and alarms

	def flow_runs(self):
		from gigafibre_fsm.flows.runtime import advance_run, start_run

		template = frappe.db.get_value("Flow Template", {"kind": "relocation", "is_system": 1}, "name")
		if not template:
			return
		for i, row in enumerate(self.customer_rows[:4]):
			run = start_run(template, "Customer", row.customer, enqueue=False)
			if i < 3:
				advance_run(run)

	def alarms(self):
		from gigafibre_fsm.network.jobs import raise_alarm

		rows = frappe.get_all(
			"Service Equipment",
			filters={"name": ["in", self.made.get("Service Equipment", [])], "equipment_type": "ONT"},
			fields=["name", "customer", "alarm_issue", "last_optical_status", "last_online"],
			limit_page_length=0,
		)
		for row in rows:
			if row.last_optical_status in ("low", "high", "los"):
				raise_alarm(
					row, "on_optical_alarm", _("Optical level {0}").format(_(row.last_optical_status))
				)
