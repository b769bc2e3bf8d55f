// Texting the customer from the desk: "Send SMS" on an Issue, "Reply by SMS" on a received SMS
// (Communication). The numbers on file and their consent come from
// gigafibre_fsm.api.customers.sms_recipients; send_sms queues an outgoing Communication on the
// same thread (the Issue's timeline), sent through Twilio. A number that texted STOP is refused by
// the server; the dialog shows why.
import { call } from "./dispatch_board/api";

const API = "gigafibre_fsm.api.customers.";
// The roles send_sms allows (api/customers.py SMS_STAFF, and the app's super roles).
const SENDERS = ["Customer Service", "FSM Manager", "System Manager"];
const esc = (v) => frappe.utils.escape_html(v == null ? "" : String(v));

function may_send() {
	return frappe.session.user === "Administrator" || frappe.user.has_role(SENDERS);
}

function number_label(n) {
	const stop = n.opted_out ? ` — ${__("texted STOP")}` : "";
	return `${n.number} (${n.label})${stop}`;
}

async function open_dialog(frm, reference_doctype, reference_name) {
	const info = await call(API + "sms_recipients", { reference_doctype, reference_name }, "GET");
	const numbers = info.numbers || [];
	const max = info.max_length;
	const dialog = new frappe.ui.Dialog({
		title: reference_doctype === "Communication" ? __("Reply by SMS") : __("Send SMS"),
		fields: [
			{
				fieldname: "to",
				fieldtype: "Select",
				label: __("To"),
				reqd: 1,
				options: numbers.map((n) => ({ value: n.number, label: number_label(n) })),
				default: numbers.length ? numbers[0].number : "",
				description: numbers.length ? "" : __("No phone number on file for this customer"),
			},
			{ fieldname: "body", fieldtype: "Small Text", label: __("Message"), reqd: 1 },
			{ fieldname: "count", fieldtype: "HTML" },
			{ fieldname: "refusal", fieldtype: "HTML" },
		],
		primary_action_label: __("Send"),
		primary_action: async (values) => {
			show_refusal("");
			dialog.disable_primary_action();
			try {
				const sent = await call(API + "send_sms", {
					reference_doctype,
					reference_name,
					body: values.body,
					to: values.to,
				});
				dialog.hide();
				frappe.show_alert({ message: __("SMS queued to {0}", [sent.to]), indicator: "green" });
				frm.reload_doc();
			} catch (e) {
				show_refusal(e.message);
			} finally {
				dialog.enable_primary_action();
			}
		},
	});
	const show_refusal = (text) =>
		dialog.fields_dict.refusal.$wrapper.html(
			text ? `<div class="alert alert-danger small" data-testid="sms-refusal">${esc(text)}</div>` : ""
		);
	const count = () => {
		const length = (dialog.get_value("body") || "").length;
		const over = length > max;
		dialog.fields_dict.count.$wrapper.html(
			`<div class="small ${over ? "text-danger" : "text-muted"}" data-testid="sms-count">${esc(
				__("{0} / {1} characters", [length, max])
			)}</div>`
		);
	};
	dialog.$wrapper.attr("data-testid", "sms-dialog");
	dialog.fields_dict.body.$input.on("input", count);
	count();
	dialog.show();
	return dialog;
}

function add_button(frm, label, reference_doctype, reference_name) {
	if (frm.is_new() || !may_send()) return;
	frm.add_custom_button(label, () => open_dialog(frm, reference_doctype, reference_name)).attr(
		"data-testid",
		"send-sms"
	);
}

frappe.provide("gigafibre.sms");
gigafibre.sms.add_button = add_button;
gigafibre.sms.open_dialog = open_dialog;
