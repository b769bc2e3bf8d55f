// Frappe dialogs of the board: suggested slots, offers, a job's actions, the publish summary.
import { API, call } from "./api";

const esc = (v) => frappe.utils.escape_html(v == null ? "" : String(v));

function when(value) {
	return value ? frappe.datetime.str_to_user(value) : "";
}

export function suggest(job, technicians, on_done) {
	const dialog = new frappe.ui.Dialog({
		title: __("Suggested slots for {0}", [job.subject || job.name]),
		size: "large",
		fields: [{ fieldtype: "HTML", fieldname: "slots" }],
	});
	const $body = dialog.fields_dict.slots.$wrapper;
	$body.html(`<div class="text-muted">${esc(__("Looking for slots…"))}</div>`);
	dialog.show();
	call(API + "suggest_slots", { job: job.name, limit: 5 }, "GET")
		.then((slots) => {
			if (!slots.length) {
				$body.html(`<div class="text-muted">${esc(__("No technician can take this job in its window"))}</div>`);
				return;
			}
			const rows = slots
				.map(
					(s, i) => `<tr data-testid="slot">
						<td><b>${esc(technicians[s.technician] || s.technician)}</b></td>
						<td>${esc(when(s.start))}</td>
						<td><span class="indicator-pill ${i === 0 ? "green" : "blue"}">${esc(s.cost)}</span></td>
						<td class="small text-muted">${esc(
							__("{0} min of added travel, {1} min late, {2} min of overtime", [
								s.travel_added_minutes,
								s.lateness_minutes,
								s.overtime_minutes,
							])
						)}</td>
						<td><button class="btn btn-xs btn-primary" data-slot="${i}">${esc(__("Assign"))}</button></td>
					</tr>`
				)
				.join("");
			$body.html(`<table class="table table-sm">
				<thead><tr><th>${esc(__("Technician"))}</th><th>${esc(__("Start"))}</th><th>${esc(
				__("Cost")
			)}</th><th>${esc(__("Why"))}</th><th></th></tr></thead><tbody>${rows}</tbody></table>
				<div class="small text-muted">${esc(
					__("Cost = 1.0 × added travel + 0.05 × lateness + 1.5 × overtime (minutes) + 10 × skill surplus")
				)}</div>`);
			$body.find("button[data-slot]").on("click", (e) => {
				const slot = slots[Number($(e.currentTarget).attr("data-slot"))];
				call(API + "assign", { job: job.name, technician: slot.technician, start: slot.start })
					.then(() => {
						dialog.hide();
						frappe.show_alert({ message: __("{0} assigned", [job.name]), indicator: "green" });
						on_done();
					})
					.catch((err) => frappe.msgprint({ message: esc(err.message), indicator: "red" }));
			});
		})
		.catch((err) => $body.html(`<div class="text-danger">${esc(err.message)}</div>`));
}

export function offer(job, technicians, on_done) {
	const dialog = new frappe.ui.Dialog({
		title: __("Offer {0}", [job.subject || job.name]),
		fields: [
			{
				fieldtype: "Select",
				fieldname: "mode",
				label: __("Mode"),
				options: [
					{ value: "Broadcast", label: __("Broadcast") },
					{ value: "Targeted", label: __("Targeted") },
					{ value: "Pool", label: __("Pool") },
				],
				default: "Broadcast",
				reqd: 1,
			},
			{
				fieldtype: "MultiCheck",
				fieldname: "technicians",
				label: __("Technicians"),
				depends_on: "eval:doc.mode=='Targeted'",
				options: Object.entries(technicians).map(([value, label]) => ({ value, label })),
				columns: 2,
			},
			{
				fieldtype: "Link",
				fieldname: "pool",
				label: __("Pool"),
				options: "Dispatch Preset",
				depends_on: "eval:doc.mode=='Pool'",
				get_query: () => ({ filters: { preset_type: "Resource Group" } }),
			},
			{ fieldtype: "Currency", fieldname: "price", label: __("Price (optional)") },
		],
		primary_action_label: __("Offer"),
		primary_action(values) {
			call(API + "offer_job", {
				job: job.name,
				mode: values.mode,
				technicians: values.mode === "Targeted" ? values.technicians : null,
				pool: values.mode === "Pool" ? values.pool : null,
				price: values.price || null,
			})
				.then((r) => {
					dialog.hide();
					frappe.show_alert({
						message: __("Offered to {0} technicians", [r.offers.length]),
						indicator: "green",
					});
					on_done();
				})
				.catch((err) => frappe.msgprint({ message: esc(err.message), indicator: "red" }));
		},
	});
	dialog.show();
}

export function job_actions(job, board) {
	const dialog = new frappe.ui.Dialog({
		title: job.subject || job.name,
		fields: [{ fieldtype: "HTML", fieldname: "info" }],
	});
	dialog.fields_dict.info.$wrapper.html(`<table class="table table-sm">
		<tr><th>${esc(__("Job"))}</th><td><a href="/app/dispatch-job/${esc(job.name)}">${esc(job.name)}</a></td></tr>
		<tr><th>${esc(__("Type"))}</th><td>${esc(__(job.job_type))} · ${esc(__(job.priority || ""))}</td></tr>
		<tr><th>${esc(__("Status"))}</th><td>${esc(__(job.status))}</td></tr>
		<tr><th>${esc(__("Technician"))}</th><td>${esc(board.tech_names[job.technician] || "")}</td></tr>
		<tr><th>${esc(__("Scheduled"))}</th><td>${esc(when(job.scheduled_start))}</td></tr>
		<tr><th>${esc(__("Customer window"))}</th><td>${esc(when(job.window_start))} – ${esc(
		when(job.window_end)
	)}</td></tr>
	</table>`);
	if (board.can_plan) {
		dialog.set_primary_action(__("Suggest"), () => {
			dialog.hide();
			suggest(job, board.tech_names, board.refresh);
		});
		if (job.technician && ["Assigned", "Offered", "Draft"].includes(job.status)) {
			dialog.set_secondary_action_label(__("Unassign"));
			dialog.set_secondary_action(() => {
				dialog.hide();
				board.unassign(job);
			});
		}
	}
	dialog.show();
}

export function publish_summary(changes, tech_names) {
	// changes: [{job, subject, from, to, start}]
	const by_tech = {};
	for (const c of changes) {
		if (c.to) (by_tech[c.to] = by_tech[c.to] || []).push(`+ ${c.subject || c.job} (${when(c.start)})`);
		if (c.from && c.from !== c.to) (by_tech[c.from] = by_tech[c.from] || []).push(`− ${c.subject || c.job}`);
	}
	return Object.entries(by_tech)
		.map(
			([tech, lines]) =>
				`<div class="gf-publish-tech"><b>${esc(tech_names[tech] || tech)}</b><ul>${lines
					.map((l) => `<li>${esc(l)}</li>`)
					.join("")}</ul></div>`
		)
		.join("");
}
