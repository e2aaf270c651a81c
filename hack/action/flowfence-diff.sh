#!/usr/bin/env bash
# flowfence-diff.sh: the periodic diff as a pull request. Run from the root
# of a git checkout of the base branch (action.yml calls it; it runs the same
# anywhere with git, curl and the gh CLI):
#
#   1. fetch the graph: GRAPH_SOURCE is the in-cluster learner's GET /graph
#      URL (http:// or https://, fetched with curl) or flow files / saved
#      graphs (a path or a glob flowfence expands);
#   2. flowfence diff --policies POLICIES --from GRAPH --update --report REPORT
#      (the tree's .flowfence/settings.json gives the flavor and settings;
#      FORMAT overrides the flavor);
#   3. exit status 0 (nothing new): done, nothing committed;
#      exit status 3 (new flows): commit the updated tree (its graph included)
#      and the report on BRANCH, push it to REMOTE, and open a pull request
#      against BASE_BRANCH with the report as its body, or update the body of
#      the one already open for BRANCH;
#      any other status: fail with it.
#
# Environment (inputs):
#   POLICIES      the policy tree written by flowfence generate --out (required)
#   GRAPH_SOURCE  URL of the learner's /graph, or a flow file path/glob (required)
#   FORMAT        policy flavor override (default: the tree's saved flavor)
#   REPORT        the Markdown report, committed with the tree (default flowfence-report.md)
#   BASE_BRANCH   the pull request's base (default: the branch checked out)
#   BRANCH        the branch the update is pushed to (default flowfence/diff)
#   REMOTE        the remote to push to (default origin)
#   PR_TITLE      the pull request's title
#   CURL_OPTS     extra curl options for the /graph fetch (e.g. --cacert ca.pem)
#   FLOWFENCE     the flowfence binary (default flowfence on PATH)
#   GH            the gh binary (default gh on PATH; it reads GH_TOKEN or GITHUB_TOKEN)
# Outputs (also to $GITHUB_OUTPUT when set): new-flows=true|false, branch, pr.
set -euo pipefail

die() { echo "flowfence-diff: $*" >&2; exit 1; }

: "${POLICIES:?POLICIES: the policy tree (flowfence generate --out) is required}"
: "${GRAPH_SOURCE:?GRAPH_SOURCE: the learner /graph URL or flow files are required}"
REPORT=${REPORT:-flowfence-report.md}
BRANCH=${BRANCH:-flowfence/diff}
REMOTE=${REMOTE:-origin}
FLOWFENCE=${FLOWFENCE:-flowfence}
GH=${GH:-gh}
PR_TITLE=${PR_TITLE:-"flowfence: new flows in ${POLICIES}"}
if [ -z "${BASE_BRANCH:-}" ]; then
	BASE_BRANCH=$(git symbolic-ref --quiet --short HEAD) || die "BASE_BRANCH: not set and HEAD is detached"
fi
git check-ref-format --branch "$BRANCH" >/dev/null || die "BRANCH $BRANCH: not a branch name"
git check-ref-format --branch "$BASE_BRANCH" >/dev/null || die "BASE_BRANCH $BASE_BRANCH: not a branch name"
[ "$BRANCH" != "$BASE_BRANCH" ] || die "BRANCH and BASE_BRANCH are both $BRANCH"
[ -d "$POLICIES" ] || die "POLICIES $POLICIES: not a directory (run flowfence generate --out $POLICIES and commit it first)"

output() {
	echo "$1=$2"
	if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$1=$2" >>"$GITHUB_OUTPUT"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case "$GRAPH_SOURCE" in
http://* | https://*)
	from="$tmp/graph.json"
	# shellcheck disable=SC2086 # CURL_OPTS is a list of options
	curl --fail --silent --show-error --location --retry 3 --max-time 300 ${CURL_OPTS:-} -o "$from" "$GRAPH_SOURCE" ||
		die "GRAPH_SOURCE $GRAPH_SOURCE: fetching the graph failed"
	;;
*) from="$GRAPH_SOURCE" ;;
esac

args=(diff --policies "$POLICIES" --from "$from" --update --report "$REPORT")
if [ -n "${FORMAT:-}" ]; then args+=(--format "$FORMAT"); fi
status=0
"$FLOWFENCE" "${args[@]}" || status=$?
case $status in
0)
	echo "flowfence-diff: nothing new; nothing committed"
	output new-flows false
	exit 0
	;;
3) ;;
*) die "flowfence diff failed (exit status $status)" ;;
esac

git checkout --quiet -B "$BRANCH"
git add --all -- "$POLICIES" "$REPORT"
if git diff --cached --quiet; then
	echo "flowfence-diff: flowfence found new flows but changed no file; nothing committed"
	output new-flows false
	exit 0
fi
author=()
if ! git config user.email >/dev/null; then
	author=(-c user.name=flowfence -c user.email=flowfence@users.noreply.github.com)
fi
git "${author[@]}" commit --quiet -m "flowfence: admit the new flows observed in ${POLICIES}" -m "$(head -c 60000 "$REPORT")"
# the branch is rebuilt from the base on every run: the pull request shows
# the latest observation against the base, never a pile of older commits
git push --quiet --force "$REMOTE" "HEAD:refs/heads/$BRANCH"
output new-flows true
output branch "$BRANCH"

# a pull request body holds at most 65536 characters: a longer report is
# cut there, the whole of it is in the commit
body="$REPORT"
if [ "$(wc -c <"$REPORT")" -gt 60000 ]; then
	body="$tmp/body.md"
	{ head -c 60000 "$REPORT"; printf '\n\n…the report is longer than a pull request body: see %s in the branch.\n' "$REPORT"; } >"$body"
fi
pr=$("$GH" pr list --head "$BRANCH" --base "$BASE_BRANCH" --state open --json number --jq '.[0].number // empty')
if [ -n "$pr" ]; then
	"$GH" pr edit "$pr" --title "$PR_TITLE" --body-file "$body"
	echo "flowfence-diff: updated pull request #$pr"
else
	"$GH" pr create --base "$BASE_BRANCH" --head "$BRANCH" --title "$PR_TITLE" --body-file "$body"
	pr=$("$GH" pr list --head "$BRANCH" --base "$BASE_BRANCH" --state open --json number --jq '.[0].number // empty')
	echo "flowfence-diff: opened pull request #$pr"
fi
output pr "$pr"
