// The flow editor page (/app/flow-editor/<template>): mounts the Vue 3 app of ./flow_editor.
import { createApp } from "vue";
import FlowEditorComponent from "./flow_editor/FlowEditor.vue";

class FlowEditor {
	constructor({ wrapper, page, template }) {
		this.template = template;
		this.page = page;
		this.app = createApp(FlowEditorComponent, { page, template });
		SetVueGlobals(this.app);
		this.vm = this.app.mount(wrapper);
	}

	destroy() {
		this.app.unmount();
	}
}

frappe.provide("gigafibre");
gigafibre.FlowEditor = FlowEditor;
export default FlowEditor;
