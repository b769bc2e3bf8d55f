// Communication form: "Reply by SMS" on a received SMS, on the same thread (its Issue or customer).
frappe.ui.form.on("Communication", {
	refresh(frm) {
		const d = frm.doc;
		if (frm.is_new() || d.communication_medium !== "SMS" || d.sent_or_received !== "Received") return;
		frappe.require("sms_dialog.bundle.js").then(() => {
			gigafibre.sms.add_button(frm, __("Reply by SMS"), "Communication", d.name);
		});
	},
});
