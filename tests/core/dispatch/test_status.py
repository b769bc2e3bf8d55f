import pytest

from gigafibre_fsm.core.dispatch.status import (
	ALIASES,
	STATUSES,
	TRANSITIONS,
	allowed_next,
	normalise_status,
	transition,
)
from gigafibre_fsm.core.errors import Conflict, IllegalTransition, InvalidInput

LEGAL = [
	("Draft", "Offered"),
	("Draft", "Assigned"),
	("Draft", "Cancelled"),
	("Offered", "Assigned"),
	("Offered", "Draft"),
	("Offered", "Cancelled"),
	("Assigned", "En Route"),
	("Assigned", "On Site"),
	("Assigned", "Offered"),
	("Assigned", "Draft"),
	("Assigned", "Cancelled"),
	("En Route", "On Site"),
	("En Route", "Assigned"),
	("En Route", "Cancelled"),
	("On Site", "Completed"),
	("On Site", "Cancelled"),
]


def test_the_canonical_set():
	assert STATUSES == ("Draft", "Offered", "Assigned", "En Route", "On Site", "Completed", "Cancelled")
	assert set(TRANSITIONS) == set(STATUSES)
	assert all(target in STATUSES for targets in TRANSITIONS.values() for target in targets)
	assert all(alias in STATUSES for alias in ALIASES.values())


@pytest.mark.parametrize("old,new", LEGAL)
def test_legal_transitions(old, new):
	assert transition(old, new, technician="TECH-1") == new


@pytest.mark.parametrize(
	"old,new",
	[(old, new) for old in STATUSES for new in STATUSES if old != new and (old, new) not in LEGAL],
)
def test_every_other_transition_is_refused(old, new):
	with pytest.raises(IllegalTransition, match=f"from {old} to {new}"):
		transition(old, new, technician="TECH-1")


def test_final_statuses_are_final():
	assert allowed_next("Completed") == frozenset()
	assert allowed_next("Cancelled") == frozenset()


def test_same_status_is_a_harmless_repeat():
	assert transition("Completed", "Completed") == "Completed"
	assert transition("On Site", "in progress") == "On Site"


def test_aliases_and_french_labels():
	assert normalise_status("Scheduled") == "Assigned"
	assert normalise_status("IN PROGRESS") == "On Site"
	assert normalise_status("en  route") == "En Route"
	assert normalise_status("Terminé") == "Completed"
	assert normalise_status("Annulé") == "Cancelled"
	assert normalise_status(None) == "Draft"
	assert normalise_status("") == "Draft"
	assert transition("Scheduled", "In Progress", technician="T") == "On Site"
	with pytest.raises(InvalidInput, match="Unknown dispatch job status"):
		normalise_status("Paused")


def test_a_technician_is_needed_to_assign_or_start():
	with pytest.raises(InvalidInput, match="needs a technician"):
		transition("Draft", "Assigned")
	with pytest.raises(InvalidInput, match="needs a technician"):
		transition("Assigned", "En Route", technician="")
	assert transition("Assigned", "Draft") == "Draft"


def test_a_job_with_pending_predecessors_cannot_start():
	with pytest.raises(Conflict, match="J-1, J-2"):
		transition("Assigned", "En Route", technician="T", pending_predecessors=["J-2", "J-1"])
	with pytest.raises(Conflict):
		transition("Assigned", "On Site", technician="T", pending_predecessors=["J-1"])
	# planning a blocked job is fine; only starting it is not
	assert transition("Draft", "Assigned", technician="T", pending_predecessors=["J-1"]) == "Assigned"
	assert transition("Assigned", "On Site", technician="T", pending_predecessors=[]) == "On Site"
