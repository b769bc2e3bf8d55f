# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DispatchPreset(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.dispatch.doctype.dispatch_job_skill.dispatch_job_skill import DispatchJobSkill
		from gigafibre_fsm.dispatch.doctype.dispatch_preset_item.dispatch_preset_item import (
			DispatchPresetItem,
		)
		from gigafibre_fsm.dispatch.doctype.dispatch_preset_technician.dispatch_preset_technician import (
			DispatchPresetTechnician,
		)

		checklist: DF.Table[DispatchPresetItem]
		duration_minutes: DF.Int
		job_type: DF.Literal["", "Installation", "Repair", "Maintenance", "Removal"]
		preset_name: DF.Data
		preset_type: DF.Literal["Job Template", "Resource Group"]
		priority: DF.Literal["Low", "Medium", "High", "Urgent"]
		required_skills: DF.Table[DispatchJobSkill]
		subject: DF.Data | None
		technicians: DF.Table[DispatchPresetTechnician]
	# end: auto-generated types
	pass
