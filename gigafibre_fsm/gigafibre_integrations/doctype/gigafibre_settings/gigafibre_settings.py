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
)


class GigafibreSettings(Document):
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
