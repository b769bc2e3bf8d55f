// What the public pages without desk login share (/c/<token>, /q/<mac>, /t/<token>):
// calls to the app's whitelisted methods and the page's two languages. Plain JS, no
// build step: each page inlines it before its own script (gigafibre_fsm.public_pages).
(function () {
	"use strict";
	var frappe = window.frappe || {};

	// The text of the server's messages (_server_messages), parsed, never inserted: a
	// DOMParser document runs no script nor handler.
	function serverMessage(body) {
		try {
			var messages = JSON.parse((body && body._server_messages) || "[]");
			return messages
				.map(function (m) {
					var html = JSON.parse(m).message || "";
					return new DOMParser().parseFromString(html, "text/html").body.textContent;
				})
				.join(" ");
		} catch (e) {
			return (body && body.exception) || "";
		}
	}

	// POST (JSON) or GET to `api + method`. Resolves {ok, status, data, message, body}; a
	// network failure resolves with status 0 and no data.
	function call(api, method, payload, httpMethod) {
		var headers = { Accept: "application/json", "X-Requested-With": "XMLHttpRequest" };
		var url = api + method;
		var init = { method: httpMethod || "POST", headers: headers, credentials: "same-origin", cache: "no-store" };
		if (frappe.csrf_token && frappe.csrf_token !== "None") headers["X-Frappe-CSRF-Token"] = frappe.csrf_token;
		if (init.method === "GET") {
			url += "?" + new URLSearchParams(payload || {}).toString();
		} else {
			headers["Content-Type"] = "application/json";
			init.body = JSON.stringify(payload || {});
		}
		return fetch(url, init).then(
			function (res) {
				return res
					.json()
					.catch(function () {
						return {};
					})
					.then(function (body) {
						return { ok: res.ok, status: res.status, data: body.message, message: serverMessage(body), body: body };
					});
			},
			function () {
				return { ok: false, status: 0, data: null, message: "", body: null };
			}
		);
	}

	// Every [data-t] node takes its text from `texts` (the page's strings in its language).
	function translate(texts, root) {
		Array.prototype.forEach.call((root || document).querySelectorAll("[data-t]"), function (node) {
			var text = texts[node.getAttribute("data-t")];
			if (text !== undefined) node.textContent = text;
		});
	}

	window.gigafibrePage = { call: call, translate: translate, serverMessage: serverMessage };
})();
