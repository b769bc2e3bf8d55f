// The flow editor (/app/flow-editor/<template>): a Vue 3 app from public/js/flow_editor.bundle.js.
frappe.pages["flow-editor"].on_page_load = function (wrapper) {
	frappe.ui.make_app_page({ parent: wrapper, title: __("Flow Editor"), single_column: true });
};

frappe.pages["flow-editor"].on_page_show = function (wrapper) {
	const template = frappe.get_route()[1];
	const $parent = $(wrapper).find(".layout-main-section");
	if (!template) {
		$parent.empty();
		const dialog = new frappe.ui.Dialog({
			title: __("Open a flow template"),
			fields: [{ fieldtype: "Link", fieldname: "template", options: "Flow Template", label: __("Flow Template"), reqd: 1 }],
			primary_action_label: __("Open"),
			primary_action: ({ template }) => {
				dialog.hide();
				frappe.set_route("flow-editor", template);
			},
		});
		dialog.show();
		return;
	}
	if (wrapper.flow_editor && wrapper.flow_editor.template === template) return;
	if (wrapper.flow_editor) wrapper.flow_editor.destroy();
	$parent.empty();
	frappe.require("flow_editor.bundle.js").then(() => {
		wrapper.flow_editor = new gigafibre.FlowEditor({ wrapper: $parent.get(0), page: wrapper.page, template });
	});
};
