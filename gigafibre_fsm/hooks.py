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
after_install = "gigafibre_fsm.install.after_install"
after_migrate = "gigafibre_fsm.install.after_migrate"

# run-tests on an ERPNext site needs a company and the setup wizard done.
before_tests = "erpnext.setup.utils.before_tests"

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
