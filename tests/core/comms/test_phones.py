import pytest

from gigafibre_fsm.core.comms.phones import masked, stored_forms, to_e164


@pytest.mark.parametrize(
	"raw",
	["514-555-0123", "(514) 555-0123", "5145550123", "1 514 555 0123", "+1 514 555 0123", " +15145550123 "],
)
def test_canadian_shapes_read_as_one_number(raw):
	assert to_e164(raw) == "+15145550123"


def test_foreign_number_keeps_its_country():
	assert to_e164("+33 1 42 68 53 00") == "+33142685300"


@pytest.mark.parametrize("raw", [None, "", "   ", "12", "abc", "x" * 50, 5145550123])
def test_what_is_not_a_number_is_none(raw):
	assert to_e164(raw) is None


def test_stored_forms_cover_the_usual_typing_and_read_back_the_same():
	forms = stored_forms("+15145550123")
	assert forms[0] == "+15145550123"
	for typed in ("514-555-0123", "(514) 555-0123", "5145550123", "15145550123", "+1 514-555-0123"):
		assert typed in forms
	assert len(forms) == len(set(forms))
	assert {to_e164(f) for f in forms} == {"+15145550123"}


def test_masked_shows_four_digits():
	assert masked("+15145550123") == "…0123" and masked(None) == ""
