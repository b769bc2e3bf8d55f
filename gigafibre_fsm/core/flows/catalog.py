"""Catalogs the flow editor and the runtime share: kinds, applies_to, triggers, step kinds.

Step kinds are declared here with their config schema (a small JSON-Schema
subset: type, properties, required, enum, minimum, items). The Frappe layer
registers the *handlers* for these kinds and may add kinds of its own through
the ``gigafibre_flow_step_kinds`` hook (Dispatch adds ``create_dispatch_job``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORIES = ("Project", "Agent")

PROJECT_KINDS = {
	"residential_installation": "Residential fibre installation",
	"commercial_installation": "Commercial installation",
	"repair": "Repair call",
	"relocation": "Relocation (move)",
	"voip_activation": "VoIP line activation",
	"removal": "Service removal",
	"other_project": "Other project",
}

AGENT_KINDS = {
	"post_signature_ack": "Post-signature acknowledgement",
	"repair_follow_up": "Follow-up after a repair",
	"payment_reminder": "Overdue payment reminder",
	"card_expiry_notice": "Saved card expiring",
	"sla_escalation": "SLA escalation",
	"network_alarm": "Network alarm handling",
	"outage_notice": "Outage notice to affected customers",
	"other_agent": "Other agent",
}

# The one list of doctypes a flow can apply to. Service Subscription is the ISP's
# own subscription doctype (ERPNext's Subscription is not used for services). Sales Invoice
# flows start on the app events on_payment_failed / on_payment_overdue (no doc_events hook).
APPLIES_TO = (
	"Customer",
	"Quotation",
	"Service Contract",
	"Issue",
	"Service Subscription",
	"Outage",
	"Sales Invoice",
)

# Document events a template can trigger on (doc_events of the applies_to doctypes).
DOC_EVENTS = ("on_insert", "on_update", "on_submit", "on_cancel")
# Named app events fired with gigafibre_fsm.flows.fire(event, doc).
APP_EVENTS = (
	"on_contract_signed",
	"on_contract_terminated",
	"on_job_completed",
	"on_installation_completed",
	"on_optical_alarm",
	"on_cpe_offline",
	"on_payment_overdue",
	"on_sms_received",
	# fired on the Outage, then on each affected Customer (occurrence: the outage)
	"on_outage_started",
	"on_outage_resolved",
	"on_payment_failed",
	# fired on the Customer whose saved card expires this month or the next (occurrence: card and expiry)
	"on_card_expiring",
)
TRIGGER_EVENTS = ("manual", *DOC_EVENTS, *APP_EVENTS, "cron")
# What the flow editor shows for each trigger event (translated by the Frappe layer).
TRIGGER_EVENT_LABELS = {
	"manual": "Started by hand",
	"on_insert": "When the record is created",
	"on_update": "When the record is saved",
	"on_submit": "When the record is submitted",
	"on_cancel": "When the record is cancelled",
	"on_contract_signed": "Contract signed",
	"on_contract_terminated": "Contract terminated",
	"on_job_completed": "Dispatch job completed",
	"on_installation_completed": "Installation completed",
	"on_optical_alarm": "Optical alarm",
	"on_cpe_offline": "Customer equipment offline",
	"on_payment_overdue": "Payment overdue",
	"on_sms_received": "SMS received",
	"on_outage_started": "Outage started",
	"on_outage_resolved": "Outage resolved",
	"on_payment_failed": "Payment failed",
	"on_card_expiring": "Saved card expiring",
	"cron": "On a schedule (cron)",
}

# Roots of the run context that {{...}} paths and {"var": ...} may start with.
CONTEXT_ROOTS = frozenset({"doc", "customer", "steps", "run", "now", "event", "trigger"})

STEP_STATUSES = ("Pending", "Running", "Waiting", "Completed", "Failed", "Skipped", "Cancelled")
RUN_STATUSES = ("Pending", "Running", "Waiting", "Completed", "Failed", "Cancelled")


@dataclass(frozen=True)
class StepKind:
	name: str
	label: str
	schema: dict
	description: str = ""
	is_group: bool = False
	side_effect: bool = False  # calls the outside world or creates records: gets an idempotency key
	config_example: dict = field(default_factory=dict)

	def as_dict(self) -> dict:
		return {
			"name": self.name,
			"label": self.label,
			"description": self.description,
			"is_group": self.is_group,
			"side_effect": self.side_effect,
			"schema": self.schema,
			"example": self.config_example,
		}


def _obj(properties: dict, required: tuple = ()) -> dict:
	return {
		"type": "object",
		"properties": properties,
		"required": list(required),
		"additionalProperties": False,
	}


_S = {"type": "string"}
_INT0 = {"type": "integer", "minimum": 0}

BUILTIN_KINDS: dict[str, StepKind] = {
	k.name: k
	for k in (
		StepKind(
			"group",
			"Group",
			_obj({}),
			"Holds peer steps; completes when all its children are done.",
			is_group=True,
		),
		StepKind(
			"wait",
			"Wait",
			_obj(
				{
					"delay_minutes": _INT0,
					"until_field": _S,
					"offset_minutes": {"type": "integer"},
					"until_condition": {"type": "object"},
					"check_every_minutes": {"type": "integer", "minimum": 1},
					"timeout_minutes": _INT0,
				}
			),
			"Waits a duration, until a date field of the document, or until a condition holds.",
			config_example={"delay_minutes": 60},
		),
		StepKind(
			"set_field",
			"Set field",
			_obj({"field": _S, "value": {}}, ("field",)),
			"Sets a field of the reference document.",
			side_effect=True,
			config_example={"field": "status", "value": "Actif"},
		),
		StepKind(
			"create_issue",
			"Create Issue",
			_obj(
				{"subject": _S, "description": _S, "priority": _S, "issue_type": _S, "raised_by": _S},
				("subject",),
			),
			"Creates an ERPNext Issue linked to the run's customer.",
			side_effect=True,
			config_example={"subject": "Installation {{doc.name}}"},
		),
		StepKind(
			"create_todo",
			"Create ToDo / assignment",
			_obj(
				{"description": _S, "allocated_to": _S, "role": _S, "date": _S, "priority": _S},
				("description",),
			),
			"Creates a ToDo on the reference document, assigned to a user or a role.",
			side_effect=True,
			config_example={"description": "Call the customer", "role": "Customer Service"},
		),
		StepKind(
			"send_email",
			"Send email",
			_obj({"recipients": {}, "subject": _S, "message": _S}, ("recipients", "subject", "message")),
			"Queues an email (Frappe's Email Queue).",
			side_effect=True,
			config_example={"recipients": "{{customer.email_billing}}", "subject": "Merci", "message": "..."},
		),
		StepKind(
			"send_sms",
			"Send SMS",
			_obj({"to": _S, "body": _S}, ("to", "body")),
			"Sends an SMS through Twilio (nothing to a number that sent STOP); the message sid is kept in the step output.",
			side_effect=True,
			config_example={"to": "{{customer.cell_phone}}", "body": "Bon de commande reçu"},
		),
		StepKind(
			"webhook",
			"Call webhook",
			_obj(
				{
					"url": _S,
					"method": {"type": "string", "enum": ["POST", "PUT"]},
					"payload": {},
					"secret_field": _S,
				},
				("url",),
			),
			"POSTs a JSON body signed with HMAC-SHA256 (X-Gigafibre-Signature) and an Idempotency-Key.",
			side_effect=True,
			config_example={"url": "https://example.invalid/hook", "payload": {"contract": "{{doc.name}}"}},
		),
		StepKind(
			"approval",
			"Approval",
			_obj(
				{"description": _S, "allocated_to": _S, "role": _S, "timeout_minutes": _INT0},
				("description",),
			),
			"Creates a ToDo and waits for a decision: closed = approved, cancelled = rejected.",
			side_effect=True,
			config_example={"description": "Approve the credit", "role": "FSM Manager"},
		),
		StepKind(
			"subflow",
			"Sub-flow",
			_obj({"template": _S, "wait": {"type": "boolean"}}, ("template",)),
			"Starts another template on the same document; optionally waits for it to finish.",
			side_effect=True,
			config_example={"template": "FT-00001", "wait": True},
		),
	)
}

STEP_FAILURE_RULES = "A failed step (after its retries) fails the run; pending steps are cancelled."


def check_config(schema: dict, value, path: str = "config") -> list[str]:
	"""Validate ``value`` against the JSON-Schema subset used by step kinds. Returns problems."""
	problems: list[str] = []
	expected = schema.get("type")
	checks = {
		"object": lambda v: isinstance(v, dict),
		"array": lambda v: isinstance(v, list),
		"string": lambda v: isinstance(v, str),
		"boolean": lambda v: isinstance(v, bool),
		"integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
		"number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
	}
	if expected and not checks[expected](value):
		if not (isinstance(value, str) and "{{" in value):  # a placeholder is checked after rendering
			problems.append(f"{path} must be of type {expected}")
		return problems
	if "enum" in schema and value not in schema["enum"]:
		problems.append(f"{path} must be one of {', '.join(map(str, schema['enum']))}")
	if "minimum" in schema and isinstance(value, int | float) and value < schema["minimum"]:
		problems.append(f"{path} must be at least {schema['minimum']}")
	if expected == "object":
		properties = schema.get("properties", {})
		for key in schema.get("required", []):
			if value.get(key) in (None, ""):
				problems.append(f"{path}.{key} is required")
		for key, item in value.items():
			if key in properties:
				problems.extend(check_config(properties[key], item, f"{path}.{key}"))
			elif schema.get("additionalProperties") is False:
				problems.append(f"{path}.{key} is not a known setting")
	if expected == "array" and "items" in schema:
		for i, item in enumerate(value):
			problems.extend(check_config(schema["items"], item, f"{path}[{i}]"))
	return problems


# Declared here so templates validate anywhere; the Dispatch module registers its handler
# through the gigafibre_flow_step_kinds hook.
CREATE_DISPATCH_JOB = StepKind(
	"create_dispatch_job",
	"Create Dispatch Job",
	_obj(
		{
			"preset": _S,
			"job_type": {"type": "string", "enum": ["Installation", "Repair", "Maintenance", "Removal"]},
			"subject": _S,
			"duration_minutes": {"type": "integer", "minimum": 1},
			"priority": {"type": "string", "enum": ["Low", "Medium", "High", "Urgent"]},
			"chain_kind": {"type": "string", "enum": ["Installation", "Repair", "Relocation", "Other"]},
			"chain_root_step": _S,
			"after_steps": {"type": "array", "items": _S},
			"issue_step": _S,
		}
	),
	"Creates a Dispatch Job from a preset or inline settings, linked to the run; "
	"after_steps chains it behind the jobs earlier steps created.",
	side_effect=True,
	config_example={
		"job_type": "Installation",
		"subject": "Installation {{doc.name}}",
		"duration_minutes": 120,
	},
)


# Declared here so templates validate anywhere; the Customers module registers its handler
# through the gigafibre_flow_step_kinds hook.
PAYMENT_LINK = StepKind(
	"payment_link",
	"Payment link",
	_obj({}),
	"On a Sales Invoice: a link that opens its card payment (valid 45 days), in the step output as "
	"url, with the amount due as outstanding.",
	config_example={},
)

# Declared here so templates validate anywhere; the Customers module registers its handler.
ACCOUNT_LINK = StepKind(
	"account_link",
	"Account link",
	_obj({}),
	"On a Customer: a link to their account page (valid 24 hours), in the step output as url.",
	config_example={},
)
