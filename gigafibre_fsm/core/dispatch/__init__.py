"""Pure dispatch rules: job statuses, eligibility, suggested slots, recurrence and chains.

Modules:
	models       plain values: Point, Shift, SkillRequirement, Technician, Job
	status       the Dispatch Job lifecycle and its aliases
	travel       TravelModel protocol, haversine, GeodesicTravel (default travel times)
	eligibility  skills and levels, shifts (on-call is not worked time), windows, overlaps
	slots        suggested (technician, start) options ranked by a documented cost
	recurrence   RRULE expansion in America/Toronto, DST-correct, with EXDATE
	chains       dependencies, unblocking, installation completion → activation + proration

Planning times are naive datetimes in the site time zone (as Frappe stores them);
nothing here reads the clock: "now" is always an argument.
"""

from gigafibre_fsm.core.dispatch.chains import (
	Activation,
	ChainJob,
	ChainSubscription,
	CompletionPlan,
	ProratedInvoice,
	ProratedLine,
	complete_job,
	prorate,
	unblocked_by,
)
from gigafibre_fsm.core.dispatch.eligibility import (
	Problem,
	check_assignment,
	is_eligible,
	problems,
	worked_time,
)
from gigafibre_fsm.core.dispatch.models import Job, Point, Shift, SkillRequirement, Technician
from gigafibre_fsm.core.dispatch.recurrence import intervals, occurrences
from gigafibre_fsm.core.dispatch.slots import CostWeights, Slot, suggest_slots
from gigafibre_fsm.core.dispatch.status import STATUSES, normalise_status, transition
from gigafibre_fsm.core.dispatch.travel import GeodesicTravel, TravelModel, haversine_km

__all__ = [
	"STATUSES",
	"Activation",
	"ChainJob",
	"ChainSubscription",
	"CompletionPlan",
	"CostWeights",
	"GeodesicTravel",
	"Job",
	"Point",
	"Problem",
	"ProratedInvoice",
	"ProratedLine",
	"Shift",
	"SkillRequirement",
	"Slot",
	"Technician",
	"TravelModel",
	"check_assignment",
	"complete_job",
	"haversine_km",
	"intervals",
	"is_eligible",
	"normalise_status",
	"occurrences",
	"problems",
	"prorate",
	"suggest_slots",
	"transition",
	"unblocked_by",
	"worked_time",
]
