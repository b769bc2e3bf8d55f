# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from urllib.parse import urlparse

import frappe
from frappe import _
from frappe.model.document import Document

from gigafibre_fsm.exceptions import GigafibreValidationError

URL_FIELDS = (
	"genieacs_nbi_url",
	"traccar_url",
	"twilio_api_base",
	"docuseal_url",
	"vision_api_base",
	"public_base_url",
	"pay_link_url",
	"pay_url",
	"stripe_js_url",
)


class GigafibreSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from gigafibre_fsm.gigafibre_integrations.doctype.uptime_kuma_monitor.uptime_kuma_monitor import (
			UptimeKumaMonitor,
		)

		billing_as_drafts: DF.Check
		billing_enabled: DF.Check
		billing_from: DF.Date | None
		billing_queue_number: DF.Data | None
		chromium_path: DF.Data | None
		docuseal_api_key: DF.Password | None
		docuseal_url: DF.Data | None
		docuseal_webhook_secret: DF.Password | None
		genieacs_nbi_url: DF.Data | None
		genieacs_password: DF.Password | None
		genieacs_timeout: DF.Float
		genieacs_username: DF.Data | None
		modem_admin_password: DF.Password | None
		modem_admin_username: DF.Data | None
		modem_bridge_enabled: DF.Check
		modem_browser_sessions: DF.Int
		modem_session_idle_seconds: DF.Int
		modem_timeout: DF.Float
		olt_max_inflight: DF.Int
		pay_link_url: DF.Data | None
		phone_holiday_list: DF.Link | None
		phone_saturday_close: DF.Time | None
		phone_saturday_open: DF.Time | None
		phone_weekday_close: DF.Time | None
		phone_weekday_open: DF.Time | None
		public_base_url: DF.Data | None
		sales_queue_number: DF.Data | None
		sms_keyword_replies: DF.Check
		pon_outage_min_onts: DF.Int
		pon_outage_min_share: DF.Percent
		snmp_retries: DF.Int
		snmp_timeout: DF.Float
		stripe_js_url: DF.Data | None
		stripe_webhook_secret: DF.Password | None
		support_queue_number: DF.Data | None
		threecx_token: DF.Password | None
		token_signing_secret: DF.Password | None
		traccar_timeout: DF.Float
		traccar_token: DF.Password | None
		traccar_url: DF.Data | None
		twilio_account_sid: DF.Data | None
		twilio_api_base: DF.Data | None
		twilio_auth_token: DF.Password | None
		twilio_from_number: DF.Data | None
		twilio_timeout: DF.Float
		uptime_kuma_monitors: DF.Table[UptimeKumaMonitor]
		uptime_kuma_token: DF.Password | None
		vision_api_base: DF.Data | None
		vision_api_key: DF.Password | None
		vision_model: DF.Data | None
		vision_timeout: DF.Float

	# end: auto-generated types
	def validate(self):
		self.validate_urls()

	def validate_urls(self):
		for fieldname in URL_FIELDS:
			value = (self.get(fieldname) or "").strip()
			self.set(fieldname, value)
			if not value:
				continue
			parsed = urlparse(value)
			if parsed.scheme not in ("http", "https") or not parsed.netloc:
				frappe.throw(
					_("{0} must be an http(s) URL, not {1}").format(_(self.meta.get_label(fieldname)), value),
					GigafibreValidationError,
				)
