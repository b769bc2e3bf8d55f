#!/usr/bin/env bash
# Install this working tree into a Frappe bench and run the app's integration
# tests there:  scripts/bench-tests.sh /path/to/frappe-bench [site]
#
# The tree is copied to apps/gigafibre_fsm (what `bench get-app <path>` does,
# but with uncommitted changes too), installed into the bench's env, added to
# sites/apps.txt, then `install-app` (first time) or `migrate`, then
# `run-tests --app gigafibre_fsm`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$(cd "$1" && pwd)
SITE=${2:-test_site}
APP=gigafibre_fsm

if [ ! -d "$BENCH/sites/$SITE" ]; then
	echo "FAILED: bench $BENCH has no site '$SITE' (set FRAPPE_SITE)." >&2
	exit 1
fi

# `bench` when it is on PATH, else the same entry point bench itself uses.
frappe_cli() {
	if command -v bench >/dev/null 2>&1; then
		(cd "$BENCH" && bench "$@")
	else
		(cd "$BENCH/sites" && "$BENCH/env/bin/python" -m frappe.utils.bench_helper frappe "$@")
	fi
}

echo "bench: $BENCH  site: $SITE"
DEST="$BENCH/apps/$APP"
if [ "$(cd "$DEST" 2>/dev/null && pwd -P)" != "$(pwd -P)" ]; then
	rm -rf "$DEST.new"
	mkdir -p "$DEST.new"
	tar -C "$ROOT" --exclude=./.venv --exclude=./.git --exclude='__pycache__' --exclude=./.pytest_cache \
		--exclude=./.ruff_cache --exclude=./.benchmarks -cf - . | tar -C "$DEST.new" -xf -
	rm -rf "$DEST"
	mv "$DEST.new" "$DEST"
fi
"$BENCH/env/bin/python" -m pip install --quiet -e "$DEST"
grep -qx "$APP" "$BENCH/sites/apps.txt" || printf '\n%s\n' "$APP" >>"$BENCH/sites/apps.txt"
sed -i '/^$/d' "$BENCH/sites/apps.txt"

# A site whose cache was filled before the app was in apps.txt keeps a module map without
# it: clear the site's cache before installing or migrating (README's install steps too).
frappe_cli --site "$SITE" clear-cache
if frappe_cli --site "$SITE" list-apps 2>/dev/null | grep -q "^$APP"; then
	echo "migrating $SITE"
	frappe_cli --site "$SITE" migrate
else
	echo "installing $APP on $SITE"
	frappe_cli --site "$SITE" install-app "$APP"
fi

# install -> uninstall -> install: uninstalling leaves nothing of the app behind on
# ERPNext's doctypes (custom fields, roles), and a fresh install works (GIGAFIBRE_REINSTALL=0 skips it).
if [ "${GIGAFIBRE_REINSTALL:-1}" = 1 ]; then
	echo "uninstalling $APP from $SITE, then installing it again"
	frappe_cli --site "$SITE" uninstall-app "$APP" --yes --no-backup
	# (not `bench execute`: it refuses a method of an app the site no longer has)
	(cd "$BENCH/sites" && "$BENCH/env/bin/python" -c "import sys, frappe
frappe.init(site=sys.argv[1], sites_path='.'); frappe.connect()
from gigafibre_fsm.install import check_uninstalled
check_uninstalled(); print('uninstall left nothing behind')" "$SITE")
	frappe_cli --site "$SITE" clear-cache
	frappe_cli --site "$SITE" install-app "$APP"
fi
frappe_cli --site "$SITE" set-config allow_tests true
# the desk bundles (public/js/*.bundle.js, Vue single-file components) for the browser tests
frappe_cli build --app "$APP"

echo "running: run-tests --app $APP on $SITE"
# CI=1: without it run-tests exits 0 even when tests fail.
# --skip-test-records: the tests build what they need with factories (gigafibre_fsm/test_utils.py)
# instead of walking the whole ERPNext link graph for test_records.
CI=1 frappe_cli --site "$SITE" run-tests --app "$APP" --skip-test-records
