#!/usr/bin/env bash
# The larger fuzz run (README "Reliability"): every endpoint over HTTP with hostile input,
# plus ROUNDS rounds of random combinations per endpoint (several arguments spoiled at once).
#   scripts/fuzz-api.sh /path/to/frappe-bench [site] [rounds] [seed]
# The app must already be installed on the site (scripts/bench-tests.sh does it).
set -euo pipefail
BENCH=$(cd "$1" && pwd)
SITE=${2:-test_site}
export GIGAFIBRE_FUZZ_ROUNDS=${3:-50}
export GIGAFIBRE_FUZZ_SEED=${4:-$RANDOM}
echo "fuzz: site $SITE, $GIGAFIBRE_FUZZ_ROUNDS rounds, seed $GIGAFIBRE_FUZZ_SEED"
cd "$BENCH"
CI=1 bench --site "$SITE" run-tests --skip-test-records \
	--module gigafibre_fsm.gigafibre_integrations.tests.test_fuzz_api
