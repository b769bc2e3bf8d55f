# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class NetworkElement(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		element_name: DF.Data
		element_type: DF.Literal["OLT"]
		enabled: DF.Check
		host: DF.Data
		last_error: DF.SmallText | None
		last_sweep_at: DF.Datetime | None
		last_sweep_onts: DF.Int
		pon_ports: DF.SmallText | None
		snmp_community: DF.Password
		snmp_port: DF.Int
		vendor_profile: DF.Literal["zte_c300", "zte_c320", "huawei_ma5600t", "huawei_ma5800"]
	# end: auto-generated types
	pass
