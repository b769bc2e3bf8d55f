"""Plain, typed settings objects handed to connectors.

The Frappe layer (gigafibre_fsm.settings) builds these from the Single doctype
"Gigafibre Settings"; connectors and tests build them directly. Secrets are
plain strings here: they never leave the process they were read in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def _url(value: str | None) -> str:
	return (value or "").strip().rstrip("/")


@dataclass(frozen=True)
class GenieACSSettings:
	nbi_url: str = ""
	username: str = ""
	password: str = field(default="", repr=False)
	timeout: float = 10.0

	def __post_init__(self):
		object.__setattr__(self, "nbi_url", _url(self.nbi_url))

	@property
	def configured(self) -> bool:
		return bool(self.nbi_url)


@dataclass(frozen=True)
class ModemBridgeSettings:
	enabled: bool = False
	username: str = "admin"
	password: str = field(default="", repr=False)
	timeout: float = 20.0
	idle_seconds: int = 120
	chromium_path: str = "/usr/bin/chromium"
	# The browser bridge's Chromium start (cold, on a loaded server): its own budget, not `timeout`.
	# No field in Gigafibre Settings: the default applies.
	browser_start_timeout: float = 60.0
	# At most this many browser contexts (admin sessions of the browser bridge) per process.
	browser_sessions: int = 4
	# How long a read of another device waits for a context when all are in use (no field: default).
	browser_slot_wait: float = 5.0

	@property
	def configured(self) -> bool:
		return self.enabled and bool(self.password)


@dataclass(frozen=True)
class SNMPSettings:
	timeout: float = 3.0
	retries: int = 1
	max_inflight_per_olt: int = 4


@dataclass(frozen=True)
class TraccarSettings:
	url: str = ""
	token: str = field(default="", repr=False)
	timeout: float = 5.0

	def __post_init__(self):
		object.__setattr__(self, "url", _url(self.url))

	@property
	def configured(self) -> bool:
		return bool(self.url and self.token)


@dataclass(frozen=True)
class TwilioSettings:
	account_sid: str = ""
	auth_token: str = field(default="", repr=False)
	from_number: str = ""
	api_base: str = "https://api.twilio.com"
	timeout: float = 10.0

	def __post_init__(self):
		object.__setattr__(self, "api_base", _url(self.api_base) or "https://api.twilio.com")

	@property
	def configured(self) -> bool:
		return bool(self.account_sid and self.auth_token and self.from_number)


@dataclass(frozen=True)
class DocuSealSettings:
	url: str = ""
	api_key: str = field(default="", repr=False)
	webhook_secret: str = field(default="", repr=False)
	template_id: int = 0  # the commercial contract template
	submitter_role: str = "Client"  # the template role the customer signs as

	def __post_init__(self):
		object.__setattr__(self, "url", _url(self.url))

	@property
	def configured(self) -> bool:
		return bool(self.url and self.api_key)


@dataclass(frozen=True)
class VisionSettings:
	api_base: str = "https://generativelanguage.googleapis.com"
	api_key: str = field(default="", repr=False)
	model: str = "gemini-2.5-flash"
	timeout: float = 8.0

	def __post_init__(self):
		object.__setattr__(
			self, "api_base", _url(self.api_base) or "https://generativelanguage.googleapis.com"
		)

	@property
	def configured(self) -> bool:
		return bool(self.api_key and self.model)


@dataclass(frozen=True)
class CommsSettings:
	"""SMS, the phone menu and 3CX (times as Gigafibre Settings holds them: ``"08:00:00"``)."""

	public_base_url: str = ""  # what Twilio signs and 3CX opens; empty: the request's own URL
	keyword_replies: bool = False
	pay_link_url: str = ""
	support_queue: str = ""
	billing_queue: str = ""
	sales_queue: str = ""
	weekday_open: str = "08:00:00"
	weekday_close: str = "20:00:00"
	saturday_open: str = ""  # empty: closed
	saturday_close: str = ""
	holiday_list: str = ""

	def __post_init__(self):
		object.__setattr__(self, "public_base_url", _url(self.public_base_url))

	@property
	def queues(self) -> dict[str, str]:
		"""Queue name → number to dial (billing and sales fall back to support)."""
		support = self.support_queue
		return {
			"support": support,
			"billing": self.billing_queue or support,
			"sales": self.sales_queue or support,
		}


STRIPE_JS_URL = "https://js.stripe.com/v3/"


@dataclass(frozen=True)
class StripeSettings:
	"""Stripe (gigafibre_fsm.connectors.stripe_payments takes this as is)."""

	api_key: str = field(default="", repr=False)  # sk_live_... / sk_test_... / rk_...
	api_base: str = "https://api.stripe.com"
	timeout: float = 10.0
	max_network_retries: int = 2
	webhook_secret: str = field(default="", repr=False)  # whsec_...
	publishable_key: str = ""  # pk_...: the account page's Stripe.js (save a card)
	js_url: str = STRIPE_JS_URL  # where the account page loads Stripe.js from (tests: the fake's)
	account: str = ""  # the ERPNext Account (Bank/Cash) Stripe payments are received in

	def __post_init__(self):
		object.__setattr__(self, "api_base", _url(self.api_base) or "https://api.stripe.com")

	@property
	def configured(self) -> bool:
		return bool(self.api_key)


@dataclass(frozen=True)
class WebhookSecrets:
	stripe: str = field(default="", repr=False)
	uptime_kuma: str = field(default="", repr=False)
	threecx: str = field(default="", repr=False)
	docuseal: str = field(default="", repr=False)


@dataclass(frozen=True)
class AppSettings:
	"""Everything the app reads from Gigafibre Settings, in one immutable value."""

	genieacs: GenieACSSettings = field(default_factory=GenieACSSettings)
	modem: ModemBridgeSettings = field(default_factory=ModemBridgeSettings)
	snmp: SNMPSettings = field(default_factory=SNMPSettings)
	traccar: TraccarSettings = field(default_factory=TraccarSettings)
	twilio: TwilioSettings = field(default_factory=TwilioSettings)
	docuseal: DocuSealSettings = field(default_factory=DocuSealSettings)
	vision: VisionSettings = field(default_factory=VisionSettings)
	stripe: StripeSettings = field(default_factory=StripeSettings)
	webhooks: WebhookSecrets = field(default_factory=WebhookSecrets)
	token_secret: str = field(default="", repr=False)
	comms: CommsSettings = field(default_factory=CommsSettings)


# Which field of "Gigafibre Settings" feeds which attribute. One table, so the
# doctype, the accessor and the tests cannot drift apart.
FIELD_MAP: dict[str, dict[str, str]] = {
	"genieacs": {
		"nbi_url": "genieacs_nbi_url",
		"username": "genieacs_username",
		"password": "genieacs_password",
		"timeout": "genieacs_timeout",
	},
	"modem": {
		"enabled": "modem_bridge_enabled",
		"username": "modem_admin_username",
		"password": "modem_admin_password",
		"timeout": "modem_timeout",
		"idle_seconds": "modem_session_idle_seconds",
		"chromium_path": "chromium_path",
		"browser_sessions": "modem_browser_sessions",
	},
	"snmp": {
		"timeout": "snmp_timeout",
		"retries": "snmp_retries",
		"max_inflight_per_olt": "olt_max_inflight",
	},
	"traccar": {"url": "traccar_url", "token": "traccar_token", "timeout": "traccar_timeout"},
	"twilio": {
		"account_sid": "twilio_account_sid",
		"auth_token": "twilio_auth_token",
		"from_number": "twilio_from_number",
		"api_base": "twilio_api_base",
		"timeout": "twilio_timeout",
	},
	"docuseal": {
		"url": "docuseal_url",
		"api_key": "docuseal_api_key",
		"webhook_secret": "docuseal_webhook_secret",
		"template_id": "docuseal_template_id",
		"submitter_role": "docuseal_submitter_role",
	},
	"vision": {
		"api_base": "vision_api_base",
		"api_key": "vision_api_key",
		"model": "vision_model",
		"timeout": "vision_timeout",
	},
	"stripe": {
		"api_key": "stripe_secret_key",
		"api_base": "stripe_api_base",
		"timeout": "stripe_timeout",
		"webhook_secret": "stripe_webhook_secret",
		"publishable_key": "stripe_publishable_key",
		"js_url": "stripe_js_url",
		"account": "stripe_account",
	},
	"webhooks": {
		"stripe": "stripe_webhook_secret",
		"uptime_kuma": "uptime_kuma_token",
		"threecx": "threecx_token",
		"docuseal": "docuseal_webhook_secret",
	},
	"comms": {
		"public_base_url": "public_base_url",
		"keyword_replies": "sms_keyword_replies",
		"pay_link_url": "pay_link_url",
		"support_queue": "support_queue_number",
		"billing_queue": "billing_queue_number",
		"sales_queue": "sales_queue_number",
		"weekday_open": "phone_weekday_open",
		"weekday_close": "phone_weekday_close",
		"saturday_open": "phone_saturday_open",
		"saturday_close": "phone_saturday_close",
		"holiday_list": "phone_holiday_list",
	},
}
TOKEN_SECRET_FIELD = "token_signing_secret"

# group name -> its dataclass (the default_factory of that AppSettings field)
_GROUP_CLASSES = {f.name: f.default_factory for f in fields(AppSettings) if f.name in FIELD_MAP}


# Numbers that must be positive besides the timeouts: 0 (unset) keeps the default.
POSITIVE = frozenset({"browser_sessions"})


def build_settings(values: dict, secrets: dict) -> AppSettings:
	"""Build AppSettings from a doctype's plain field values and its decrypted secrets.

	``values`` maps fieldname → value (None or "" where unset, as Frappe gives them);
	``secrets`` maps Password fieldname → decrypted string. Empty values fall back to
	the dataclass defaults; numbers are coerced, so "8" and 8.0 both work.
	"""
	merged = {**values, **{k: v for k, v in secrets.items() if v}}
	groups = {}
	for group, mapping in FIELD_MAP.items():
		cls = _GROUP_CLASSES[group]
		defaults = {f.name: f.default for f in fields(cls)}
		kwargs = {}
		for attr, fieldname in mapping.items():
			raw = merged.get(fieldname)
			if raw in (None, ""):
				continue
			value = _coerce(raw, defaults[attr])
			if (attr.endswith("timeout") or attr in POSITIVE) and value <= 0:
				# a field added to the Single after the site was made reads 0, not its default
				continue
			kwargs[attr] = value
		groups[group] = cls(**kwargs)
	return AppSettings(**groups, token_secret=str(merged.get(TOKEN_SECRET_FIELD) or ""))


def _coerce(raw, default):
	if isinstance(default, bool):
		return bool(int(raw)) if isinstance(raw, str) and raw.isdigit() else bool(raw)
	if isinstance(default, int):
		return int(float(raw))
	if isinstance(default, float):
		return float(raw)
	return str(raw).strip()


def password_fields() -> set[str]:
	"""Fieldnames that hold secrets (Password fields in the doctype)."""
	secret_attrs = {
		"password",
		"token",
		"auth_token",
		"api_key",
		"webhook_secret",
		"stripe",
		"uptime_kuma",
		"threecx",
		"docuseal",
	}
	out = {TOKEN_SECRET_FIELD}
	for group, mapping in FIELD_MAP.items():
		for attr, fieldname in mapping.items():
			if attr in secret_attrs or group == "webhooks":
				out.add(fieldname)
	return out
