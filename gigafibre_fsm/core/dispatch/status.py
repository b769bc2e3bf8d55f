"""The status lifecycle of a Dispatch Job.

Canonical statuses (what the doctype stores):

	Draft → Offered → Assigned → En Route → On Site → Completed
	                                                  ↘ Cancelled (from any open status)

- Draft: created, not yet offered nor assigned (a dispatcher may still be planning it).
- Offered: in the offer pool (broadcast, targeted or pool), waiting for a technician to claim it.
- Assigned: a technician and a start are set (the planner's "Scheduled").
- En Route: the technician is driving to the site.
- On Site: the work is in progress (the planner's "In Progress").
- Completed, Cancelled: final; a job is never reopened (duplicate it instead).

Aliases accepted on input by :func:`normalise_status` (case-insensitive, and the
French labels users see): Scheduled → Assigned, In Progress / Started → On Site,
Done → Completed, Canceled → Cancelled, Brouillon → Draft, Offert → Offered,
Assigné / Planifié → Assigned, En route → En Route, Sur place / En cours → On Site,
Terminé / Complété → Completed, Annulé → Cancelled.

Backward moves that happen in the field are legal: an offer that expires or is
withdrawn goes back to Draft; an unassigned job goes back to Draft or to the offer
pool; a technician turned back on the road goes back to Assigned. Starting a job
(En Route or On Site) needs its predecessors completed (see chains.py) and
Assigned, En Route and On Site need a technician.
"""

from __future__ import annotations

from collections.abc import Iterable

from gigafibre_fsm.core.errors import Conflict, IllegalTransition, InvalidInput

DRAFT = "Draft"
OFFERED = "Offered"
ASSIGNED = "Assigned"
EN_ROUTE = "En Route"
ON_SITE = "On Site"
COMPLETED = "Completed"
CANCELLED = "Cancelled"

STATUSES = (DRAFT, OFFERED, ASSIGNED, EN_ROUTE, ON_SITE, COMPLETED, CANCELLED)
FINAL = frozenset({COMPLETED, CANCELLED})
# statuses in which the job holds a technician's time
NEEDS_TECHNICIAN = frozenset({ASSIGNED, EN_ROUTE, ON_SITE, COMPLETED})
STARTED = frozenset({EN_ROUTE, ON_SITE})

TRANSITIONS: dict[str, frozenset[str]] = {
	DRAFT: frozenset({OFFERED, ASSIGNED, CANCELLED}),
	OFFERED: frozenset({DRAFT, ASSIGNED, CANCELLED}),
	ASSIGNED: frozenset({DRAFT, OFFERED, EN_ROUTE, ON_SITE, CANCELLED}),
	EN_ROUTE: frozenset({ASSIGNED, ON_SITE, CANCELLED}),
	ON_SITE: frozenset({COMPLETED, CANCELLED}),
	COMPLETED: frozenset(),
	CANCELLED: frozenset(),
}

ALIASES: dict[str, str] = {
	"scheduled": ASSIGNED,
	"in progress": ON_SITE,
	"started": ON_SITE,
	"onsite": ON_SITE,
	"enroute": EN_ROUTE,
	"done": COMPLETED,
	"canceled": CANCELLED,
	"brouillon": DRAFT,
	"offert": OFFERED,
	"assigné": ASSIGNED,
	"planifié": ASSIGNED,
	"en route": EN_ROUTE,
	"sur place": ON_SITE,
	"en cours": ON_SITE,
	"terminé": COMPLETED,
	"complété": COMPLETED,
	"annulé": CANCELLED,
}
_BY_KEY = {s.lower(): s for s in STATUSES} | ALIASES


def normalise_status(value: str | None) -> str:
	"""The canonical status for ``value`` (canonical name or alias, any case); empty means Draft."""
	if value is None or not str(value).strip():
		return DRAFT
	key = " ".join(str(value).split()).lower()
	if key not in _BY_KEY:
		raise InvalidInput("Unknown dispatch job status {0}", value)
	return _BY_KEY[key]


def allowed_next(current: str | None) -> frozenset[str]:
	"""Statuses reachable from ``current`` in one step."""
	return TRANSITIONS[normalise_status(current)]


def transition(
	current: str | None,
	new: str,
	*,
	technician: str | None = None,
	pending_predecessors: Iterable[str] = (),
) -> str:
	"""Check the move ``current`` → ``new`` and return the canonical new status.

	A move to the same status is a no-op (returned as is) so a repeated submission
	is harmless. Raises IllegalTransition for a move the lifecycle forbids,
	InvalidInput when a status that needs a technician has none, and Conflict when
	the job would start while ``pending_predecessors`` (ids of jobs it depends on
	that are not completed) is not empty.
	"""
	old, target = normalise_status(current), normalise_status(new)
	if old == target:
		return target
	if target not in TRANSITIONS[old]:
		raise IllegalTransition("A dispatch job cannot go from {0} to {1}", old, target)
	if target in NEEDS_TECHNICIAN and not technician:
		raise InvalidInput("A dispatch job needs a technician to be {0}", target)
	if target in STARTED:
		waiting = sorted(pending_predecessors)
		if waiting:
			raise Conflict("This job cannot start before these jobs are completed: {0}", ", ".join(waiting))
	return target
