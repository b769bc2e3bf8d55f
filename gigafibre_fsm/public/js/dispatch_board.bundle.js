// The dispatch board page (/app/dispatch-board): mounts the Vue 3 app of ./dispatch_board.
import { createApp } from "vue";
import DispatchBoardComponent from "./dispatch_board/DispatchBoard.vue";

class DispatchBoard {
	constructor({ wrapper, page }) {
		this.page = page;
		this.app = createApp(DispatchBoardComponent, { page });
		SetVueGlobals(this.app);
		this.vm = this.app.mount(wrapper);
	}

	refresh() {
		return this.vm && this.vm.refresh();
	}
}

frappe.provide("gigafibre");
gigafibre.DispatchBoard = DispatchBoard;
export default DispatchBoard;
