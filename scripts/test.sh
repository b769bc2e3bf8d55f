#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls it).
#
#  1. a virtualenv (.venv) with the app's dependencies and the test tools, all
#     from pyproject.toml;
#  2. ruff (lint + format check), the import-linter layer contracts, pytest on
#     core/ and connectors/ (against real services and fake peers on loopback);
#  3. the Frappe integration tests in a real bench, when one is found:
#     FRAPPE_BENCH (+ FRAPPE_SITE, default test_site), else ~/frappe-bench.
#     Without a bench it says so in one line and skips them.
# Exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}
VENV=${GIGAFIBRE_VENV:-$ROOT/.venv}

step() { printf '\n==> %s\n' "$*"; }

step "System packages the tests use (Debian): Chromium for the browser tests, snmpd for the OLT agent, wkhtmltopdf and poppler-utils for the print formats' PDFs"
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v snmpd >/dev/null 2>&1 || need+=(snmpd)
command -v snmpbulkwalk >/dev/null 2>&1 || need+=(snmp)
command -v wkhtmltopdf >/dev/null 2>&1 || need+=(wkhtmltopdf)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if [ "${#need[@]}" -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing: ${need[*]}"
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	else
		echo "missing ${need[*]}: their tests will be skipped (install them with apt-get as root)"
	fi
fi

step "Python environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
	"$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install --quiet -e ".[test]"

step "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .

step "import-linter (layer contracts)"
"$VENV/bin/lint-imports" --no-cache

step "pytest (core, connectors, toolkit)"
set +e
"$VENV/bin/python" -m pytest "$@"
status=$?
set -e
if [ "$status" -ne 0 ]; then
	echo "pytest failed (exit $status)"
	exit "$status"
fi

step "Frappe integration tests"
BENCH=${FRAPPE_BENCH:-}
if [ -z "$BENCH" ] && [ -d "$HOME/frappe-bench/sites" ] && [ -x "$HOME/frappe-bench/env/bin/python" ]; then
	BENCH="$HOME/frappe-bench"
fi
if [ -z "$BENCH" ]; then
	echo "SKIPPED: Frappe integration tests were not run: no bench found (set FRAPPE_BENCH=/path/to/frappe-bench and FRAPPE_SITE=<site>, or build one at ~/frappe-bench)."
	exit 0
fi
# FRAPPE_SITE names one site; by default test_site (MariaDB) and, when the bench has it,
# pg_site (PostgreSQL, what production runs): every query must work on both.
SITES=${FRAPPE_SITE:-test_site}
if [ -z "${FRAPPE_SITE:-}" ] && [ -d "$BENCH/sites/pg_site" ]; then
	SITES="test_site pg_site"
fi
for site in $SITES; do
	"$ROOT/scripts/bench-tests.sh" "$BENCH" "$site"
done
