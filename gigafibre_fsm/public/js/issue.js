// Issue form: "Send SMS" texts the customer on this Issue's thread (gigafibre_fsm/public/js/sms_dialog.bundle.js).
frappe.ui.form.on("Issue", {
	refresh(frm) {
		if (frm.is_new()) return;
		frappe.require("sms_dialog.bundle.js").then(() => {
			gigafibre.sms.add_button(frm, __("Send SMS"), "Issue", frm.doc.name);
		});
	},
});
