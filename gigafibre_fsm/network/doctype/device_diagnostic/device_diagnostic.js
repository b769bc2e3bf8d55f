// Copyright (c) 2026, Gigafibre and contributors
// For license information, please see license.txt

frappe.ui.form.on("Device Diagnostic", {
	refresh(frm) {},
});
