// Calls to the app's whitelisted methods that give the server's refusal back as text (for the
// board to show it in place) instead of Frappe's message dialog.
export function server_message(r) {
	let data = r;
	if (r && r.responseText) {
		try {
			data = JSON.parse(r.responseText);
		} catch (e) {
			return r.statusText || __("The server refused");
		}
	}
	if (data && data._server_messages) {
		try {
			return JSON.parse(data._server_messages)
				.map((m) => {
					try {
						return JSON.parse(m).message;
					} catch (e) {
						return m;
					}
				})
				.map((m) => frappe.utils.html2text ? frappe.utils.html2text(m) : $("<div>").html(m).text())
				.join(" ");
		} catch (e) {
			/* fall through */
		}
	}
	if (data && data.exception) return data.exception.split(":").slice(1).join(":").trim();
	return __("The server refused");
}

export function call(method, args = {}, type = "POST") {
	return new Promise((resolve, reject) => {
		frappe.call({
			method,
			args,
			type,
			silent: true,
			callback: (r) => resolve(r.message),
			error: (r) => reject(new Error(server_message(r))),
		});
	});
}

export const API = "gigafibre_fsm.api.dispatch.";
