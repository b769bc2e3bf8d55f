"""docs/openapi.json, the API contract generated from the whitelisted methods
(``bench --site <site> gigafibre-export-openapi``), is a valid OpenAPI 3.1 document.
Its agreement with the code is checked in the bench (test_openapi.py)."""

import json
from pathlib import Path

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

SPEC = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def test_the_checked_in_description_is_valid_openapi_3_1():
	spec = json.loads(SPEC.read_text(encoding="utf-8"))
	assert spec["openapi"].startswith("3.1")
	validate(spec)
	assert any(path.endswith("dispatch.claim_job") for path in spec["paths"])


def test_the_validator_refuses_a_broken_description():
	spec = json.loads(SPEC.read_text(encoding="utf-8"))
	path = next(iter(spec["paths"]))
	spec["paths"][path] = {"post": {"responses": "not an object"}}
	try:
		validate(spec)
	except OpenAPIValidationError:
		return
	raise AssertionError("a broken description was accepted")
