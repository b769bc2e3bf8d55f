// Customer form: the Customer 360 panel (gigafibre_fsm/public/js/customer_360.bundle.js) at the top.
frappe.ui.form.on("Customer", {
	refresh(frm) {
		if (frm.is_new()) {
			frm.$wrapper.find(".gf-customer-360").remove();
			return;
		}
		frappe.require("customer_360.bundle.js").then(() => {
			gigafibre.customer_360.render(frm);
		});
	},
});
