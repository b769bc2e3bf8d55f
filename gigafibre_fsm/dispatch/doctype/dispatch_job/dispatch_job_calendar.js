// Calendar view of Dispatch Jobs (/app/dispatch-job/view/calendar): scheduled jobs by start and end,
// coloured by status.
frappe.views.calendar["Dispatch Job"] = {
	field_map: {
		start: "scheduled_start",
		end: "scheduled_end",
		id: "name",
		title: "subject",
	},
	fields: ["name", "subject", "scheduled_start", "scheduled_end", "status", "technician"],
	get_css_class(data) {
		return (
			{
				Completed: "green",
				Cancelled: "gray",
				Assigned: "blue",
				"En Route": "orange",
				"On Site": "purple",
				Draft: "red",
				Offered: "yellow",
			}[data.status] || "blue"
		);
	},
	filters: [
		{ fieldtype: "Link", fieldname: "technician", options: "Technician", label: __("Technician") },
		{
			fieldtype: "Select",
			fieldname: "job_type",
			options: "\nInstallation\nRepair\nMaintenance\nRemoval",
			label: __("Job Type"),
		},
	],
	get_events_method: "frappe.desk.calendar.get_events",
};
