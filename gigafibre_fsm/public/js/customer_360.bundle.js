// Customer 360: one call (gigafibre_fsm.api.customers.get_customer_360) feeds a panel at the top
// of the Customer form; "Diagnose" calls gigafibre_fsm.api.network.diagnose and shows the
// normalised result (optical power against the healthy band, WAN, Wi-Fi, mesh nodes, errors).
import { diagnosis_html, optical_bar } from "./customer_360/diagnosis";
import { STYLE } from "./customer_360/style";

const esc = (v) => frappe.utils.escape_html(v == null ? "" : String(v));
const STATUS_COLORS = {
	Actif: "green",
	Active: "green",
	Signé: "blue",
	"En attente": "orange",
	Annulé: "gray",
	Résilié: "gray",
	Completed: "green",
	Cancelled: "gray",
	Assigned: "blue",
	Draft: "red",
	Offered: "yellow",
	"En Route": "orange",
	"On Site": "purple",
	Failed: "red",
	Running: "blue",
	Waiting: "orange",
	Pending: "gray",
	Open: "red",
	Replied: "orange",
};

function pill(status) {
	if (!status) return "";
	const color = STATUS_COLORS[status] || "gray";
	return `<span class="indicator-pill ${color}">${esc(__(status))}</span>`;
}

function link(doctype, name, label) {
	const route = `/app/${frappe.router.slug(doctype)}/${encodeURIComponent(name)}`;
	return `<a href="${route}">${esc(label || name)}</a>`;
}

function when(value) {
	return value ? esc(frappe.datetime.str_to_user(value)) : "";
}

function money(value) {
	return value == null ? "" : esc(format_currency(value, "CAD"));
}

function section(title, count, body) {
	const badge = count == null ? "" : `<span class="gf-count">${count}</span>`;
	return `<div class="gf-section"><div class="gf-section-title">${esc(title)} ${badge}</div>${body}</div>`;
}

function empty(text) {
	return `<div class="text-muted small">${esc(text)}</div>`;
}

function table(headers, rows) {
	if (!rows.length) return empty(__("None"));
	const head = headers.map((h) => `<th>${esc(h)}</th>`).join("");
	const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
	return `<table class="table table-sm gf-table"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function subscriptions_html(data) {
	const subs = data.subscriptions.map((s) => [
		link("Service Subscription", s.name, s.plan_name || s.plan),
		pill(s.status),
		money(s.monthly_price),
		s.download_mbps ? `${esc(s.download_mbps)}/${esc(s.upload_mbps || "?")} Mb/s` : "",
		when(s.start_date),
	]);
	const contracts = data.contracts.map((c) => [
		link("Service Contract", c.name),
		pill(c.status),
		esc(__(c.contract_type)),
		c.months_left == null ? "" : esc(__("{0} months left", [c.months_left])),
		when(c.end_date),
	]);
	return (
		section(
			__("Subscriptions"),
			data.subscriptions.length,
			table([__("Plan"), __("Status"), __("Price"), __("Speed"), __("Since")], subs)
		) +
		section(
			__("Contracts"),
			data.contracts.length,
			table([__("Contract"), __("Status"), __("Type"), __("Term"), __("Ends")], contracts)
		)
	);
}

function optical_cell(e, band) {
	// the Float column reads 0 when nothing was measured: trust the status the reading set
	if (["ok", "low", "high"].includes(e.last_optical_status)) return optical_bar(e.last_rx_dbm, band, true);
	if (e.last_optical_status === "los") return `<span class="indicator-pill red">${esc(__("Loss of signal"))}</span>`;
	return `<span class="text-muted">—</span>`;
}

function equipment_html(data) {
	const band = data.optical_band;
	const rows = data.equipment.map((e) => [
		link("Service Equipment", e.name, e.serial_no) +
			`<div class="text-muted small">${esc(__(e.equipment_type))} ${esc(e.model || "")}</div>`,
		(e.last_online
			? `<span class="indicator-pill green">${esc(__("Online"))}</span>`
			: `<span class="indicator-pill red">${esc(__("Offline"))}</span>`) +
			(e.last_inform ? `<div class="text-muted small">${esc(frappe.datetime.prettyDate(e.last_inform))}</div>` : ""),
		optical_cell(e, band),
		`<button class="btn btn-xs btn-default gf-diagnose" data-equipment="${esc(e.name)}">${esc(
			__("Diagnose")
		)}</button>`,
	]);
	return section(
		__("Equipment"),
		data.equipment.length,
		table([__("Equipment"), __("State"), __("Optical power"), ""], rows)
	);
}

function locations_html(data) {
	const rows = data.locations.map((l) => [
		link("Service Location", l.name, l.address_line),
		esc([l.city, l.postal_code].filter(Boolean).join(" ")),
		esc(l.connection_type || ""),
		esc([l.olt, l.olt_port, l.ont_id].filter((v) => v != null && v !== "").join(" · ")),
	]);
	return section(
		__("Service locations"),
		data.locations.length,
		table([__("Address"), __("City"), __("Connection"), __("OLT · port · ONT")], rows)
	);
}

function activity_html(data) {
	const issues = data.open_issues.map((i) => [link("Issue", i.name, i.subject), pill(i.status), when(i.opening_date)]);
	const jobs = data.upcoming_jobs
		.concat(data.recent_jobs)
		.map((j) => [
			link("Dispatch Job", j.name, j.subject || j.name),
			esc(__(j.job_type)),
			pill(j.status),
			esc(j.technician_name || ""),
			when(j.scheduled_start || j.window_start),
		]);
	const runs = data.flow_runs.map((r) => [
		link("Flow Run", r.name, r.template_title || r.template),
		pill(r.status),
		esc(`${__(r.reference_doctype)} ${r.reference_name}`),
		when(r.started_at),
		r.error ? `<span class="text-danger small">${esc(r.error)}</span>` : "",
	]);
	return (
		section(__("Open issues"), issues.length, table([__("Issue"), __("Status"), __("Opened")], issues)) +
		section(
			__("Dispatch jobs"),
			jobs.length,
			table([__("Job"), __("Type"), __("Status"), __("Technician"), __("When")], jobs)
		) +
		section(
			__("Flow runs"),
			runs.length,
			table([__("Flow"), __("Status"), __("About"), __("Started"), __("Error")], runs)
		)
	);
}

function panel_html(data) {
	return `
	<div class="gf-360-head">
		<div class="gf-360-title">${esc(__("Customer 360"))}</div>
		<div class="text-muted small">${esc(__("As of {0}", [frappe.datetime.str_to_user(data.as_of)]))}</div>
	</div>
	<div class="row">
		<div class="col-lg-6">${subscriptions_html(data)}${locations_html(data)}</div>
		<div class="col-lg-6">${equipment_html(data)}${activity_html(data)}</div>
	</div>`;
}

function show_diagnosis(equipment, band) {
	const dialog = new frappe.ui.Dialog({
		title: __("Diagnosis of {0}", [equipment]),
		size: "large",
		fields: [{ fieldtype: "HTML", fieldname: "result" }],
	});
	const $body = dialog.fields_dict.result.$wrapper;
	$body.html(`<div class="text-muted gf-diagnosing">${esc(__("Diagnosing…"))}</div>`);
	dialog.show();
	frappe
		.call({
			method: "gigafibre_fsm.api.network.diagnose",
			args: { equipment, refresh: 1 },
			type: "POST",
		})
		.then((r) => {
			$body.html(`<div class="gf-diagnosis">${diagnosis_html(r.message, band)}</div>`);
		})
		.catch(() => {
			$body.html(`<div class="text-danger">${esc(__("The diagnosis failed"))}</div>`);
		});
	return dialog;
}

function ensure_style() {
	if (!document.getElementById("gf-360-style")) {
		const style = document.createElement("style");
		style.id = "gf-360-style";
		style.textContent = STYLE;
		document.head.appendChild(style);
	}
}

function render(frm) {
	ensure_style();
	let $panel = frm.$wrapper.find(".gf-customer-360");
	if (!$panel.length) {
		$panel = $(`<div class="gf-customer-360 frappe-card" data-testid="customer-360"></div>`);
		frm.$wrapper.find(".form-layout").first().prepend($panel);
	}
	$panel.attr("data-customer", frm.doc.name);
	$panel.html(`<div class="text-muted small">${esc(__("Loading…"))}</div>`);
	frappe
		.call({ method: "gigafibre_fsm.api.customers.get_customer_360", args: { customer: frm.doc.name } })
		.then((r) => {
			const data = r.message;
			$panel.html(panel_html(data));
			$panel.find(".gf-diagnose").on("click", (e) => {
				show_diagnosis($(e.currentTarget).attr("data-equipment"), data.optical_band);
			});
		})
		.catch(() => $panel.remove());
}

frappe.provide("gigafibre.customer_360");
Object.assign(gigafibre.customer_360, { render, show_diagnosis, panel_html });
