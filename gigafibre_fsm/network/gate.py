"""The installation gate: an Installation job completes only when its ONT's optical power
is in range and the CPE has informed since the job started, unless a dispatcher
overrode the gate with a reason (recorded on the job).

The check reads the equipment's last-known fields kept by the fleet refresh
(Service Equipment: last_rx_dbm, last_inform) when they exist.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import get_datetime

from gigafibre_fsm.exceptions import ConflictError

LOW_DBM, HIGH_DBM = -25.0, -8.0


def gate_problems(job) -> list[str]:
	if job.job_type != "Installation" or job.gate_override_reason:
		return []
	meta = frappe.get_meta("Service Equipment")
	if not (meta.has_field("last_rx_dbm") and meta.has_field("last_inform")):
		return []  # the network fields arrive with the Network module's fleet refresh
	ont = None
	for row in job.equipment:
		if row.action == "Installed" and row.equipment:
			if frappe.db.get_value("Service Equipment", row.equipment, "equipment_type") == "ONT":
				ont = row.equipment
	if not ont and job.service_location:
		ont = frappe.db.get_value(
			"Service Equipment", {"service_location": job.service_location, "equipment_type": "ONT"}, "name"
		)
	if not ont:
		return [_("No ONT is recorded for this installation")]
	eqp = frappe.db.get_value("Service Equipment", ont, ["last_rx_dbm", "last_inform"], as_dict=True)
	found = []
	if eqp.last_rx_dbm is None or not (LOW_DBM <= eqp.last_rx_dbm <= HIGH_DBM):
		found.append(
			_("The ONT's optical power ({0} dBm) is not between -25 and -8 dBm").format(eqp.last_rx_dbm)
		)
	started = get_datetime(job.actual_start) if job.actual_start else None
	if not eqp.last_inform or (started and get_datetime(eqp.last_inform) < started):
		found.append(_("The modem has not reported to the ACS since the job started"))
	return found


def check_installation_gate(job) -> None:
	found = gate_problems(job)
	if found:
		frappe.throw(
			"<br>".join(found) + "<br>" + _("A dispatcher can override with a reason."),
			ConflictError,
			title=_("The installation cannot be completed yet"),
		)
