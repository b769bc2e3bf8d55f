import json
from pathlib import Path

from gigafibre_fsm.core.settings import (
	FIELD_MAP,
	TOKEN_SECRET_FIELD,
	AppSettings,
	StripeSettings,
	build_settings,
	password_fields,
)

DOCTYPE_JSON = (
	Path(__file__).resolve().parents[2]
	/ "gigafibre_fsm/gigafibre_integrations/doctype/gigafibre_settings/gigafibre_settings.json"
)


def _doctype_fields():
	return {f["fieldname"]: f for f in json.loads(DOCTYPE_JSON.read_text())["fields"]}


def test_every_mapped_field_exists_in_the_doctype():
	fields = _doctype_fields()
	mapped = {fn for group in FIELD_MAP.values() for fn in group.values()} | {TOKEN_SECRET_FIELD}
	assert mapped - fields.keys() == set()


def test_secrets_are_exactly_the_password_fields():
	fields = _doctype_fields()
	declared = {name for name, f in fields.items() if f["fieldtype"] == "Password"}
	assert password_fields() == declared


def test_empty_values_fall_back_to_defaults():
	s = build_settings({"genieacs_nbi_url": "", "genieacs_timeout": None}, {})
	assert s == AppSettings()
	assert s.genieacs.timeout == 10.0
	assert not s.genieacs.configured
	assert not s.twilio.configured


def test_values_are_coerced_and_urls_trimmed():
	s = build_settings(
		{
			"genieacs_nbi_url": " http://acs:7557/ ",
			"genieacs_timeout": "2.5",
			"modem_bridge_enabled": 1,
			"modem_session_idle_seconds": "90",
			"olt_max_inflight": 3.0,
			"twilio_account_sid": "AC123",
			"twilio_from_number": "+15145550000",
		},
		{"genieacs_password": "s3cret", "twilio_auth_token": "tok", "modem_admin_password": "pw"},
	)
	assert s.genieacs.nbi_url == "http://acs:7557"
	assert s.genieacs.timeout == 2.5
	assert s.genieacs.password == "s3cret"
	assert s.modem.enabled is True and s.modem.idle_seconds == 90 and s.modem.configured
	assert s.snmp.max_inflight_per_olt == 3
	assert s.twilio.configured and s.twilio.api_base == "https://api.twilio.com"


def test_secrets_never_show_in_repr():
	s = build_settings({}, {"genieacs_password": "hunter2", TOKEN_SECRET_FIELD: "tokensecret"})
	assert "hunter2" not in repr(s)
	assert "tokensecret" not in repr(s)
	assert s.token_secret == "tokensecret"


def test_docuseal_secret_feeds_both_places():
	s = build_settings({}, {"docuseal_webhook_secret": "w"})
	assert s.docuseal.webhook_secret == "w" == s.webhooks.docuseal


def test_browser_start_timeout_is_a_default_of_its_own():
	# no field in Gigafibre Settings: the modem bridge gets the default, apart from the request timeout
	assert "browser_start_timeout" not in FIELD_MAP["modem"]
	s = build_settings({"modem_timeout": "3", "modem_bridge_enabled": 1}, {"modem_admin_password": "pw"})
	assert s.modem.timeout == 3.0 and s.modem.browser_start_timeout == 60.0


def test_comms_settings_queues_fall_back_to_support_and_urls_are_trimmed():
	s = build_settings(
		{
			"public_base_url": " https://erp.example.com/ ",
			"support_queue_number": "+14505550199",
			"sales_queue_number": "+14505550198",
			"sms_keyword_replies": 1,
			"phone_weekday_open": "07:30:00",
		},
		{},
	)
	assert s.comms.public_base_url == "https://erp.example.com"
	assert s.comms.queues == {"support": "+14505550199", "billing": "+14505550199", "sales": "+14505550198"}
	assert s.comms.keyword_replies is True and s.comms.weekday_open == "07:30:00"
	assert build_settings({}, {}).comms.saturday_open == ""  # closed unless set


def test_a_timeout_of_zero_is_unset_not_a_zero_budget():
	# a Float field added to Gigafibre Settings by a migration reads 0 on a site made before it
	s = build_settings({"stripe_timeout": 0, "twilio_timeout": "0", "genieacs_timeout": 4}, {})
	assert s.stripe.timeout == StripeSettings().timeout > 0
	assert s.twilio.timeout > 0
	assert s.genieacs.timeout == 4.0
