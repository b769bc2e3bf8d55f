// Copyright (c) 2026, Gigafibre and contributors
// For license information, please see license.txt

// A run still Queued or Running whose worker died (or whose job was lost) can be started again
// from here: its planning job when it has no chunks yet, else its unfinished chunks. Each chunk
// bills only what is still due, so pressing it while the jobs still run doubles nothing.
frappe.ui.form.on("Billing Run", {
	refresh(frm) {
		if (frm.is_new() || !["Queued", "Running"].includes(frm.doc.status)) return;
		if (!frappe.user.has_role(["FSM Manager", "Accounts Manager", "System Manager"])) return;
		frm.add_custom_button(__("Resume"), () => {
			frappe.confirm(
				__("Start again the jobs this billing run did not finish? Nothing is billed twice."),
				() =>
					frappe
						.call({
							method: "gigafibre_fsm.api.billing.resume_billing_run",
							args: { run: frm.doc.name },
							freeze: true,
						})
						.then(({ message }) => {
							frappe.show_alert({
								message: message.planning
									? __("The planning of {0} was queued again", [frm.doc.name])
									: __("{0} unfinished chunks queued again", [message.chunks]),
								indicator: "green",
							});
							frm.reload_doc();
						})
			);
		}).attr("data-testid", "resume-billing-run");
	},
});
