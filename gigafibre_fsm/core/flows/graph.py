"""A template's steps as a tree with a dependency DAG: validation, readiness and reorder.

Model
-----
Steps form a tree through ``parent_step``; the children of a group are peers.
``depends_on`` lists step ids that must be *done* (Completed or Skipped) before a
step may start. A child cannot start before its group has started, and a group
is done only when all its children are done. Validation checks this on a graph
of two events per step (start, done), so a step that depends on its own group,
on a descendant, or on anything that ends in a loop is refused.

Skip rule
---------
A step whose condition is false is Skipped, with all its descendants. Skipped
counts as done for its dependents: they still run, each deciding by its own
condition. To make a step follow another's skip, give it the same condition.
A Failed step fails the run: nothing more starts and pending steps are Cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gigafibre_fsm.core.errors import InvalidInput

DONE = frozenset({"Completed", "Skipped"})
TERMINAL = frozenset({"Completed", "Skipped", "Failed", "Cancelled"})
ACTIVE = frozenset({"Running", "Waiting"})


@dataclass
class Step:
	step_id: str
	label: str = ""
	kind: str = ""
	parent_step: str | None = None
	config: dict = field(default_factory=dict)
	condition: dict | None = None
	depends_on: list[str] = field(default_factory=list)

	@classmethod
	def from_dict(cls, d: dict) -> Step:
		return cls(
			step_id=str(d.get("step_id") or "").strip(),
			label=str(d.get("label") or "").strip(),
			kind=str(d.get("kind") or "").strip(),
			parent_step=(str(d["parent_step"]).strip() or None) if d.get("parent_step") else None,
			config=d.get("config") or {},
			condition=d.get("condition") or None,
			depends_on=[str(x) for x in (d.get("depends_on") or [])],
		)

	def as_dict(self) -> dict:
		return {
			"step_id": self.step_id,
			"label": self.label,
			"kind": self.kind,
			"parent_step": self.parent_step,
			"config": self.config,
			"condition": self.condition,
			"depends_on": list(self.depends_on),
		}

	@property
	def name(self) -> str:
		"""How messages name the step: its label, else its id."""
		return self.label or self.step_id


@dataclass
class Problem:
	step_id: str | None
	label: str | None
	message: str

	def as_dict(self) -> dict:
		return {"step_id": self.step_id, "label": self.label, "message": self.message}


class Tree:
	"""Steps indexed by id, with children in their stored order."""

	def __init__(self, steps: Iterable[Step | dict]):
		self.steps: list[Step] = [s if isinstance(s, Step) else Step.from_dict(s) for s in steps]
		self.by_id: dict[str, Step] = {}
		for s in self.steps:
			self.by_id.setdefault(s.step_id, s)
		self.children: dict[str | None, list[str]] = {}
		for s in self.steps:
			parent = s.parent_step if s.parent_step in self.by_id else None
			self.children.setdefault(parent, []).append(s.step_id)

	def parent(self, step_id: str) -> str | None:
		p = self.by_id[step_id].parent_step
		return p if p in self.by_id else None

	def ancestors(self, step_id: str) -> list[str]:
		out, seen = [], {step_id}
		p = self.parent(step_id)
		while p and p not in seen:
			out.append(p)
			seen.add(p)
			p = self.parent(p)
		return out

	def descendants(self, step_id: str) -> list[str]:
		out, stack = [], list(self.children.get(step_id, []))
		while stack:
			s = stack.pop(0)
			out.append(s)
			stack[:0] = self.children.get(s, [])
		return out

	def label(self, step_id: str) -> str:
		s = self.by_id.get(step_id)
		return s.name if s else step_id

	def order(self) -> list[str]:
		"""Depth-first order of the tree (what the editor shows)."""
		out: list[str] = []

		def walk(parent):
			for sid in self.children.get(parent, []):
				out.append(sid)
				walk(sid)

		walk(None)
		return out


def validate(
	steps: Iterable[Step | dict],
	*,
	kinds: dict,
	check_condition: Callable[[dict], list[str]] | None = None,
	check_config: Callable[[dict, object], list[str]] | None = None,
	check_placeholders: Callable[[object], list[str]] | None = None,
) -> list[Problem]:
	"""All problems of a template's steps, each naming its step by label.

	``kinds`` maps kind name → StepKind (schema, is_group). The three callbacks
	check a JSONLogic condition, a config against a schema, and the {{paths}} used.
	"""
	tree = Tree(steps)
	problems: list[Problem] = []

	def add(step: Step | None, message: str):
		problems.append(Problem(step.step_id if step else None, step.name if step else None, message))

	if not tree.steps:
		add(None, "A template needs at least one step")
	seen: set[str] = set()
	for s in tree.steps:
		if not s.step_id:
			add(s, f"Step '{s.name}' has no id")
			continue
		if s.step_id in seen:
			add(s, f"Step id {s.step_id} is used twice")
		seen.add(s.step_id)
		if not s.label:
			add(s, f"Step {s.step_id} has no label")
		kind = kinds.get(s.kind)
		if kind is None:
			add(s, f"Step '{s.name}' has an unknown kind '{s.kind}'")
		else:
			if check_config:
				for message in check_config(kind.schema, s.config):
					add(s, f"Step '{s.name}': {message}")
			if not kind.is_group and tree.children.get(s.step_id):
				add(s, f"Step '{s.name}' has child steps but is not a group")
		if s.parent_step and s.parent_step not in tree.by_id:
			add(s, f"Step '{s.name}' is inside an unknown group '{s.parent_step}'")
		if s.parent_step == s.step_id or s.step_id in tree.ancestors(s.step_id):
			add(s, f"Step '{s.name}' is inside itself")
		if s.condition and check_condition:
			for message in check_condition(s.condition):
				add(s, f"Step '{s.name}' condition: {message}")
		if check_placeholders:
			for message in check_placeholders(s.config):
				add(s, f"Step '{s.name}': {message}")
		for dep in s.depends_on:
			if dep == s.step_id:
				add(s, f"Step '{s.name}' depends on itself")
			elif dep not in tree.by_id:
				add(s, f"Step '{s.name}' depends on an unknown step '{dep}'")
			elif dep in tree.ancestors(s.step_id):
				add(
					s,
					f"Step '{s.name}' depends on its own group '{tree.label(dep)}', which ends only after it",
				)
			elif dep in tree.descendants(s.step_id):
				add(s, f"Step '{s.name}' depends on '{tree.label(dep)}', which is inside it")
	if not any("inside itself" in p.message for p in problems):
		cycle = find_cycle(tree)
		if cycle:
			names = " → ".join(tree.label(sid) for sid in cycle)
			first = tree.by_id[cycle[0]]
			add(first, f"Steps depend on each other in a loop: {names}")
	return problems


def find_cycle(tree: Tree) -> list[str] | None:
	"""A dependency loop (as step ids), or None. Uses start/done events per step."""
	edges: dict[tuple[str, str], list[tuple[str, str]]] = {}

	def edge(a, b):  # a must happen before b
		edges.setdefault(a, []).append(b)

	for s in tree.steps:
		sid = s.step_id
		edge(("start", sid), ("done", sid))
		for dep in s.depends_on:
			if dep in tree.by_id and dep != sid:
				edge(("done", dep), ("start", sid))
		parent = tree.parent(sid)
		if parent:
			edge(("start", parent), ("start", sid))
			edge(("done", sid), ("done", parent))
	white, grey, black = 0, 1, 2
	color: dict = {}
	stack_path: list = []

	def visit(node) -> list | None:
		color[node] = grey
		stack_path.append(node)
		for nxt in edges.get(node, []):
			c = color.get(nxt, white)
			if c == grey:
				loop = stack_path[stack_path.index(nxt) :]
				ids: list[str] = []
				for _, sid in loop:
					if not ids or ids[-1] != sid:
						ids.append(sid)
				return ids
			if c == white:
				found = visit(nxt)
				if found:
					return found
		stack_path.pop()
		color[node] = black
		return None

	for s in tree.steps:
		for node in (("start", s.step_id), ("done", s.step_id)):
			if color.get(node, white) == white:
				found = visit(node)
				if found:
					return found
	return None


def ready(tree: Tree, states: dict[str, str]) -> list[str]:
	"""Pending steps that may start now, in tree order.

	A step is ready when every step it depends on is done (Completed/Skipped) and
	its group (if any) has started (Running) — groups are started by the engine.
	"""
	out = []
	for sid in tree.order():
		if states.get(sid, "Pending") != "Pending":
			continue
		parent = tree.parent(sid)
		if parent and states.get(parent) != "Running":
			continue
		if all(states.get(dep) in DONE for dep in tree.by_id[sid].depends_on if dep in tree.by_id):
			out.append(sid)
	return out


def finished_groups(tree: Tree, states: dict[str, str], kinds: dict) -> list[str]:
	"""Running groups whose children are all done: they can be marked Completed."""
	out = []
	for sid in reversed(tree.order()):  # innermost first
		kind = kinds.get(tree.by_id[sid].kind)
		if not kind or not kind.is_group or states.get(sid) != "Running":
			continue
		if all(states.get(c) in DONE for c in tree.children.get(sid, [])):
			out.append(sid)
	return out


# -- editor operations ---------------------------------------------------------


def is_plain_chain(tree: Tree, peers: list[str]) -> bool:
	"""Peers form a plain sequential chain: the first depends on no peer, each next
	depends exactly on the one before (plus any non-peer dependencies)."""
	peer_set = set(peers)
	for i, sid in enumerate(peers):
		deps = [d for d in tree.by_id[sid].depends_on if d in peer_set]
		expected = [] if i == 0 else [peers[i - 1]]
		if deps != expected:
			return False
	return True


def reorder(steps: Iterable[Step | dict], step_id: str, to_index: int) -> list[Step]:
	"""Move ``step_id`` to position ``to_index`` among its peers.

	Where the peers form a plain sequential chain, depends_on is rewritten so the
	chain follows the new order (each peer depends on the one now before it;
	dependencies on steps outside the peer group are kept). Otherwise the
	dependencies are real DAG edges and are left exactly as they are.
	Returns the full list of steps in their new stored order.
	"""
	tree = Tree(steps)
	if step_id not in tree.by_id:
		raise InvalidInput("Unknown step {0}", step_id)
	parent = tree.parent(step_id)
	peers = list(tree.children.get(parent, []))
	chain = len(peers) > 1 and is_plain_chain(tree, peers)
	new_peers = [p for p in peers if p != step_id]
	to_index = max(0, min(int(to_index), len(new_peers)))
	new_peers.insert(to_index, step_id)
	if chain:
		peer_set = set(peers)
		for i, sid in enumerate(new_peers):
			step = tree.by_id[sid]
			outside = [d for d in step.depends_on if d not in peer_set]
			step.depends_on = outside + ([new_peers[i - 1]] if i else [])
	# Rebuild the stored order: same positions for the peer slots, new order inside.
	slots = iter(new_peers)
	peer_set = set(peers)
	ordered = [tree.by_id[next(slots)] if s.step_id in peer_set else s for s in tree.steps]
	return ordered


def depends_on_labels(steps: Iterable[Step | dict]) -> dict[str, list[str]]:
	"""step_id → the labels of the steps it depends on (what the editor shows)."""
	tree = Tree(steps)
	return {s.step_id: [tree.label(d) for d in s.depends_on] for s in tree.steps}
