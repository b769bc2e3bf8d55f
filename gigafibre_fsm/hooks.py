app_name = "gigafibre_fsm"
app_title = "Gigafibre FSM"
app_publisher = "Gigafibre"
app_description = "Field service and network operations for a fibre ISP, on ERPNext"
app_email = "dev@gigafibre.ca"
app_license = "mit"

required_apps = ["erpnext"]

# Automatically update python controller files with type annotations for this app.
export_python_type_annotations = True

# Require all whitelisted methods to have type annotations (enforced by Frappe v16).
require_type_annotated_api_methods = True

# Installation
# ------------
before_install = "gigafibre_fsm.install.before_install"
after_install = "gigafibre_fsm.install.after_install"
before_uninstall = "gigafibre_fsm.install.before_uninstall"
after_migrate = "gigafibre_fsm.install.after_migrate"

# run-tests on an ERPNext site needs a company and the setup wizard done, and fiscal years
# around today (tests bill next month: in December, next year).
before_tests = ["erpnext.setup.utils.before_tests", "gigafibre_fsm.test_utils.before_tests"]

# Fixtures: the app's roles, synced on install and migrate.
fixtures = [
	{
		"dt": "Role",
		"filters": [
			[
				"role_name",
				"in",
				["Dispatcher", "Technician", "Customer Service", "Network Operator", "FSM Manager"],
			]
		],
	},
]

# Flows
# -----
# Step kinds other modules add: dotted paths of functions returning {name: (StepKind, handler)}.
gigafibre_flow_step_kinds = [
	"gigafibre_fsm.dispatch.flow_kinds.kinds",
	"gigafibre_fsm.customers.flow_kinds.kinds",
]

# Thin triggers: one cached lookup, nothing more when no template listens.
_flow_events = {
	event: "gigafibre_fsm.flows.on_doc_event" for event in ("on_update", "on_submit", "on_cancel")
}
doc_events = {
	doctype: {**_flow_events, "after_insert": "gigafibre_fsm.flows.on_insert"}
	for doctype in ("Customer", "Quotation", "Service Contract", "Issue", "Service Subscription")
}
doc_events["ToDo"] = {"on_update": "gigafibre_fsm.flows.on_todo_update"}

# Referrals: every customer gets a code; a quotation's code is checked on save and recorded on
# submit; an invoice's referral credit lines are used once (submit) and given back (cancel).
_referrals = "gigafibre_fsm.customers.referrals"
_credits = "gigafibre_fsm.customers.referral_credits"
doc_events["Customer"]["after_insert"] = [f"{_referrals}.on_customer_insert", "gigafibre_fsm.flows.on_insert"]
doc_events["Quotation"]["validate"] = f"{_referrals}.validate_document"
for _event in ("on_submit", "on_cancel"):
	doc_events["Quotation"][_event] = [f"{_referrals}.on_quotation_{_event[3:]}", _flow_events[_event]]
doc_events["Sales Invoice"] = {
	"validate": f"{_credits}.check_invoice_credits",
	"on_submit": [f"{_credits}.on_invoice_change", "gigafibre_fsm.customers.payments.on_invoice_submit"],
	"on_cancel": f"{_credits}.on_invoice_change",
}

# Serviceability: plans (Items), their prices and the plans' price list rebuild the footprint.
_footprint = "gigafibre_fsm.customers.footprint"
doc_events["Item"] = {
	"on_update": f"{_footprint}.on_item_change",
	"on_trash": f"{_footprint}.on_item_change",
	"after_rename": f"{_footprint}.on_item_change",
}
doc_events["Item Price"] = {
	"on_update": f"{_footprint}.on_item_price_change",
	"on_trash": f"{_footprint}.on_item_price_change",
}
doc_events["Selling Settings"] = {"on_update": f"{_footprint}.on_selling_settings_change"}

# Print formats (customers/print_format/): the views their templates lay out.
jinja = {
	"methods": [
		"gigafibre_fsm.customers.print_formats.gigafibre_invoice_view",
		"gigafibre_fsm.customers.print_formats.gigafibre_quotation_view",
		"gigafibre_fsm.customers.contract_pdf.gigafibre_contract_view",
	]
}

scheduler_events = {
	"cron": {
		"* * * * *": ["gigafibre_fsm.flows.jobs.tick", "gigafibre_fsm.dispatch.jobs.poll_positions"],
		"*/5 * * * *": [
			"gigafibre_fsm.dispatch.jobs.expire_offers",
			"gigafibre_fsm.dispatch.notify.requeue_stalled",
			"gigafibre_fsm.network.jobs.schedule_fleet_refresh",
		],
		"*/15 * * * *": ["gigafibre_fsm.network.jobs.schedule_olt_sweep"],
	},
	"daily": [
		"gigafibre_fsm.network.jobs.purge_diagnostics",
		"gigafibre_fsm.dispatch.jobs.generate_recurring_jobs",
		"gigafibre_fsm.customers.billing_run.daily",
		"gigafibre_fsm.customers.payments.fire_overdue",
		"gigafibre_fsm.customers.payments.retry_autopay",
		"gigafibre_fsm.customers.saved_cards.warn_expiring",
	],
}

# Dispatch: a technician-only user sees only their own jobs and offers.
permission_query_conditions = {
	"Dispatch Job": "gigafibre_fsm.dispatch.doctype.dispatch_job.dispatch_job.get_permission_query_conditions",
	"Dispatch Offer": "gigafibre_fsm.dispatch.doctype.dispatch_offer.dispatch_offer.get_permission_query_conditions",
}
has_permission = {
	"Dispatch Job": "gigafibre_fsm.dispatch.doctype.dispatch_job.dispatch_job.has_permission",
	"Dispatch Offer": "gigafibre_fsm.dispatch.doctype.dispatch_offer.dispatch_offer.has_permission",
}

# Desk: the Customer 360 panel on the Customer form (public/js/customer_360.bundle.js).
doctype_js = {
	"Customer": "public/js/customer.js",
	"Issue": "public/js/issue.js",
	"Communication": "public/js/communication.js",
}

# Technician page /t/<token> (www/t.html + www/t.py).
website_route_rules = [
	{"from_route": "/t/<token>", "to_route": "t"},
	{"from_route": "/q/<mac>", "to_route": "q"},
	{"from_route": "/c/<token>", "to_route": "c"},
	{"from_route": "/compte/<token>", "to_route": "compte"},
	{"from_route": "/payer/<token>", "to_route": "payer"},
]
