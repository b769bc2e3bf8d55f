// The normalised diagnosis (gigafibre_fsm.core.diagnostics) made readable.
const esc = (v) => frappe.utils.escape_html(v == null ? "" : String(v));
const SCALE = [-35, 0]; // dBm shown on the optical bar

function pct(dbm) {
	const [lo, hi] = SCALE;
	return Math.max(0, Math.min(100, ((dbm - lo) / (hi - lo)) * 100));
}

function optical_state(dbm, band) {
	if (dbm == null) return "unknown";
	if (dbm < band.low_dbm) return "low";
	if (dbm > band.high_dbm) return "high";
	return "ok";
}

const OPTICAL_LABELS = {
	ok: () => __("Healthy"),
	low: () => __("Too weak"),
	high: () => __("Too strong"),
	los: () => __("Loss of signal"),
	unknown: () => __("Unknown"),
};
const OPTICAL_COLORS = { ok: "green", low: "red", high: "orange", los: "red", unknown: "gray" };

export function optical_bar(dbm, band, compact) {
	const state = optical_state(dbm, band);
	const left = pct(band.low_dbm);
	const width = pct(band.high_dbm) - left;
	return `<div class="gf-optical ${compact ? "gf-optical-compact" : ""}" data-testid="optical" data-rx="${esc(dbm)}"
		title="${esc(__("Healthy between {0} and {1} dBm", [band.low_dbm, band.high_dbm]))}">
		<span class="gf-optical-value indicator-pill ${OPTICAL_COLORS[state]}">${esc(
			Number(dbm).toFixed(1)
		)} dBm</span>
		<span class="gf-optical-bar"><span class="gf-optical-band" style="left:${left}%;width:${width}%"></span>
		<span class="gf-optical-mark" style="left:${pct(dbm)}%"></span></span>
	</div>`;
}

function kv(rows) {
	return `<table class="table table-sm gf-kv"><tbody>${rows
		.filter(([, v]) => v !== undefined && v !== null && v !== "")
		.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`)
		.join("")}</tbody></table>`;
}

function list_table(headers, rows) {
	if (!rows.length) return `<div class="text-muted small">${esc(__("Nothing reported"))}</div>`;
	return `<table class="table table-sm gf-table"><thead><tr>${headers
		.map((h) => `<th>${esc(h)}</th>`)
		.join("")}</tr></thead><tbody>${rows
		.map((r) => `<tr>${r.map((c) => `<td>${c == null ? "" : c}</td>`).join("")}</tr>`)
		.join("")}</tbody></table>`;
}

function block_meta(block) {
	if (!block || !block.source) return "";
	const stale = block.stale ? ` <span class="indicator-pill orange">${esc(__("Stale"))}</span>` : "";
	const asof = block.asof ? esc(frappe.datetime.prettyDate(block.asof)) : "";
	return `<div class="text-muted small gf-meta">${esc(__("Source"))}: ${esc(block.source)} · ${asof}${stale}</div>`;
}

function h(title) {
	return `<div class="gf-section-title">${esc(title)}</div>`;
}

export function diagnosis_html(answer, band) {
	const d = (answer && answer.result) || {};
	const optical = d.optical || {};
	const state = optical.status || optical_state(optical.rx_dbm, band);
	let html = "";
	html += h(__("Optical"));
	html += optical.rx_dbm != null ? optical_bar(optical.rx_dbm, band, false) : "";
	html += kv([
		[__("Status"), `<span class="indicator-pill ${OPTICAL_COLORS[state] || "gray"}">${esc(
			(OPTICAL_LABELS[state] || OPTICAL_LABELS.unknown)()
		)}</span>`],
		[__("Receive power"), optical.rx_dbm != null ? `${esc(optical.rx_dbm)} dBm` : "—"],
		[__("Transmit power"), optical.tx_dbm != null ? `${esc(optical.tx_dbm)} dBm` : null],
		[__("Power at the OLT"), optical.olt_rx_dbm != null ? `${esc(optical.olt_rx_dbm)} dBm` : null],
		[__("Healthy band"), esc(__("{0} to {1} dBm", [band.low_dbm, band.high_dbm]))],
	]);
	if (state === "low" || state === "los") {
		html += `<div class="alert alert-warning small">${esc(
			__("Below {0} dBm: look for a dirty connector or a break before swapping the ONT.", [band.low_dbm])
		)}</div>`;
	}
	html += block_meta(optical);

	const wan = d.wan || [];
	html += h(__("WAN"));
	html += list_table(
		[__("Interface"), __("VLAN"), __("Protocol"), __("IP address"), __("Gateway"), __("Status")],
		wan.map((w) => [esc(w.name || w.iface), esc(w.vlan), esc(w.proto), esc(w.ipv4), esc(w.gateway), esc(w.status)])
	);

	const radios = d.radios || [];
	const ssids = d.ssids || [];
	html += h(__("Wi-Fi"));
	html += list_table(
		[__("Band"), __("Channel"), __("Enabled"), __("Status")],
		radios.map((r) => [esc(r.band), esc(r.channel), r.enabled ? "✓" : "✗", esc(r.status)])
	);
	html += list_table(
		[__("SSID"), __("Band"), __("Enabled")],
		ssids.map((s) => [esc(s.ssid), esc(s.band), s.enabled ? "✓" : "✗"])
	);

	const nodes = d.mesh_nodes || [];
	const clients = d.clients || [];
	html += h(__("Mesh nodes and clients"));
	const by_node = {};
	clients.forEach((c) => (by_node[c.node_mac || ""] = (by_node[c.node_mac || ""] || []).concat([c])));
	html += list_table(
		[__("Node"), __("Role"), __("Model"), __("Clients")],
		nodes.map((n) => [
			esc(n.name || n.mac),
			esc(n.role === "controller" ? __("Gateway") : __("Satellite")),
			esc(n.model),
			(by_node[n.mac] || [])
				.map(
					(c) =>
						`<div class="small">${esc(c.hostname || c.mac)} <span class="text-muted">${esc(c.band || __("wired"))}${
							c.rssi_pct != null ? ` · ${esc(c.rssi_pct)} %` : ""
						}</span></div>`
				)
				.join("") || `<span class="text-muted small">${esc(__("No client"))}</span>`,
		])
	);
	html += `<div class="text-muted small">${esc(__("{0} clients in all", [clients.length]))}</div>`;

	const errors = d.errors || [];
	html += h(__("Sources"));
	const sources = d.sources || {};
	html += list_table(
		[__("Source"), __("Read"), __("Result")],
		Object.keys(sources).map((name) => [
			esc(name),
			sources[name].asof ? esc(frappe.datetime.prettyDate(sources[name].asof)) : "",
			sources[name].ok
				? `<span class="indicator-pill green">${esc(__("OK"))}</span>`
				: `<span class="indicator-pill red">${esc(__("Error"))}</span>`,
		])
	);
	if (errors.length) {
		html += `<div data-testid="diagnosis-errors">${errors
			.map(
				(e) =>
					`<div class="alert alert-danger small gf-error"><b>${esc(e.source)}</b>: ${esc(
						e.template ? __(e.template, e.params || []) : e.message
					)}</div>`
			)
			.join("")}</div>`;
	}
	if (answer && answer.cached) {
		html += `<div class="text-muted small">${esc(__("A diagnosis younger than 5 minutes was reused."))}</div>`;
	}
	return html;
}
