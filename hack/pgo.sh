#!/usr/bin/env bash
# hack/pgo.sh — regenerates cmd/flowfence/default.pgo (`make pgo`), the CPU
# profile `go build` uses for profile-guided optimization of the flowfence
# binary (inlining of the decoders' and the learner's hot calls).
#
# The profile is of `learn` over generated flows (internal/benchgen): a
# Hubble JSON file and the same traffic as Calico flow logs, in file order
# and shuffled (lines of many nodes interleaved), merged. Regenerate it
# after changing the hot path; a stale profile only optimizes less.
#   FLOWS (default 500000)  flows of each run
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
FLOWS=${FLOWS:-500000}
DIR=$(mktemp -d -t flowfence-pgo.XXXXXX)
trap 'rm -rf "$DIR"' EXIT

$GO build -o "$DIR/benchgen" ./internal/benchgen/cmd/benchgen
# the profiled binary is built without a profile
$GO build -pgo=off -o "$DIR/benchlearn" ./internal/benchgen/cmd/benchlearn
"$DIR/benchgen" -flows "$FLOWS" -out "$DIR/flows.jsonl"
"$DIR/benchgen" -format calico -flows "$FLOWS" -out "$DIR/flows.log"
shuf --random-source=<(yes) "$DIR/flows.log" >"$DIR/shuffled.log"
for f in flows.jsonl flows.log shuffled.log; do
	"$DIR/benchlearn" -from "$DIR/$f" -cpuprofile "$DIR/$f.pprof"
done
$GO tool pprof -proto "$DIR"/*.pprof >cmd/flowfence/default.pgo
echo "wrote cmd/flowfence/default.pgo ($(stat -c %s cmd/flowfence/default.pgo) bytes)"
