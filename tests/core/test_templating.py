import pytest

from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.core.templating import check_paths, placeholders, render, resolve

CONTEXT = {
	"doc": {
		"name": "CTR-0042",
		"grand_total": 49.95,
		"active": True,
		"items": [{"name": "Fibre 500"}, {"name": "Modem"}],
		"notes": None,
	},
	"customer": {"customer_name": "Gaétan Tremblay", "mobile": "+15145550123"},
	"steps": {"s4": {"output": {"ticket": 17}}},
	"now": "2026-11-25 10:00:00",
}


def test_a_lone_placeholder_keeps_its_type():
	assert render("{{doc.grand_total}}", CONTEXT) == 49.95
	assert render("{{ doc.active }}", CONTEXT) is True
	assert render("{{doc.items}}", CONTEXT) == CONTEXT["doc"]["items"]
	assert render("{{steps.s4.output}}", CONTEXT) == {"ticket": 17}
	assert render("{{doc.notes}}", CONTEXT) is None


def test_placeholders_inside_text_become_text():
	assert render("Bonjour {{customer.customer_name}}, contrat {{ doc.name }}", CONTEXT) == (
		"Bonjour Gaétan Tremblay, contrat CTR-0042"
	)
	assert render("total={{doc.grand_total}} ok={{doc.active}} n={{doc.notes}}", CONTEXT) == (
		"total=49.95 ok=true n="
	)
	assert render("{{steps.s4.output}}!", CONTEXT) == '{"ticket": 17}!'
	assert render("{{doc.items.1.name}}", CONTEXT) == "Modem"
	assert render("no placeholder", CONTEXT) == "no placeholder"


def test_render_walks_dicts_and_lists():
	config = {
		"to": "{{customer.mobile}}",
		"amount": "{{doc.grand_total}}",
		"lines": ["{{doc.items.0.name}}", 3, None, {"ticket": "#{{steps.s4.output.ticket}}"}],
		"{{doc.name}}": "keys are left alone",
	}
	assert render(config, CONTEXT) == {
		"to": "+15145550123",
		"amount": 49.95,
		"lines": ["Fibre 500", 3, None, {"ticket": "#17"}],
		"{{doc.name}}": "keys are left alone",
	}
	assert config["to"] == "{{customer.mobile}}"  # the input is not changed


def test_a_missing_path_is_named_when_strict():
	with pytest.raises(InvalidInput, match="doc.missing_field"):
		render("x {{doc.missing_field}}", CONTEXT)
	with pytest.raises(InvalidInput, match="doc.items.5.name"):
		render("{{doc.items.5.name}}", CONTEXT)
	with pytest.raises(InvalidInput, match="customer.mobile.x"):
		render({"a": ["{{customer.mobile.x}}"]}, CONTEXT)


def test_a_missing_path_is_empty_when_not_strict():
	assert render("x{{doc.missing_field}}y", CONTEXT, strict=False) == "xy"
	assert render("{{nothing.here}}", CONTEXT, strict=False) == ""
	assert render("{{doc.name}}", CONTEXT, strict=False) == "CTR-0042"


def test_escaping_writes_literal_braces():
	assert render(r"\{{doc.name}} is {{doc.name}}", CONTEXT) == "{{doc.name}} is CTR-0042"
	assert render(r"\{{not.in.context}}", CONTEXT) == "{{not.in.context}}"
	assert placeholders(r"\{{a.b}} {{c.d}}") == {"c.d"}


def test_malformed_placeholders_are_refused_and_nothing_is_evaluated():
	for text in ("{{}}", "{{ doc.name | upper }}", "{{doc.__class__()}}", "a {{ 1 + 1 }} b"):
		with pytest.raises(InvalidInput, match="not a valid placeholder"):
			render(text, CONTEXT, strict=False)


def test_only_dicts_and_lists_are_walked():
	class Doc:
		name = "secret"

	with pytest.raises(InvalidInput):
		render("{{doc.name}}", {"doc": Doc()})
	assert resolve({"a": ("x", "y")}, "a.1") == "y"
	assert resolve({"a": []}, "a.0", None) is None


def test_placeholders_and_check_paths():
	config = {"to": "{{ customer.mobile }}", "body": "{{doc.name}} {{stepz.s1.x}} {{ bad path }}", "n": 3}
	assert placeholders(config) == {"customer.mobile", "doc.name", "stepz.s1.x"}
	roots = {"doc", "customer", "steps", "run", "now"}
	problems = check_paths(config, roots)
	assert len(problems) == 2, problems
	assert "stepz" in problems[0] and "customer, doc, now, run, steps" in problems[0]
	assert "bad path" in problems[1]
	assert check_paths({"a": "{{doc.name}}", "b": ["{{now}}"]}, roots) == []
