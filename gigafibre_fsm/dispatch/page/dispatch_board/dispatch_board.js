// The dispatch board (/app/dispatch-board): a Vue 3 app from public/js/dispatch_board.bundle.js.
frappe.pages["dispatch-board"].on_page_load = function (wrapper) {
	frappe.ui.make_app_page({
		parent: wrapper,
		title: __("Dispatch Board"),
		single_column: true,
	});
};

frappe.pages["dispatch-board"].on_page_show = function (wrapper) {
	if (wrapper.dispatch_board) {
		wrapper.dispatch_board.refresh();
		return;
	}
	const $parent = $(wrapper).find(".layout-main-section");
	frappe.require("dispatch_board.bundle.js").then(() => {
		wrapper.dispatch_board = new gigafibre.DispatchBoard({
			wrapper: $parent.get(0),
			page: wrapper.page,
		});
	});
};
