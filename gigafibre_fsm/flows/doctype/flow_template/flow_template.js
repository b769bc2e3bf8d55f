// Copyright (c) 2026, Gigafibre and contributors
// For license information, please see license.txt

frappe.ui.form.on("Flow Template", {
	refresh(frm) {
		if (!frm.is_new()) {
			frm.add_custom_button(__("Open editor"), () => frappe.set_route("flow-editor", frm.doc.name));
		}
	},
});
