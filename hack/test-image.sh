#!/bin/sh
# test-image: build the image (make image) and run flowfence inside it as the
# cluster would: the entrypoint as uid 65532 on a read-only image. It runs
# `flowfence version` (or --help where the verb is not in this build) and
# `flowfence generate` on the sample, and compares the tree with the one the
# same sources generate on the host. Skips, saying why, where buildah cannot
# be installed (not root, or no apt-get).
set -eu
cd "$(dirname "$0")/.."

skip() { echo "test-image: SKIP: $*"; exit 0; }
if ! command -v buildah >/dev/null; then
	[ "$(id -u)" = 0 ] || skip "buildah is missing and installing it needs root"
	command -v apt-get >/dev/null || skip "buildah is missing and there is no apt-get to install it"
fi

start=$(date +%s)
IMAGE=${IMAGE:-localhost/flowfence:test}
make --no-print-directory image IMAGE="$IMAGE"
B="buildah --storage-driver vfs"

work=$(mktemp -d)
ctr=""
cleanup() {
	[ -n "$ctr" ] && $B rm "$ctr" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test-image: FAIL: $*" >&2; exit 1; }

# the image's configuration: entrypoint, user, labels
cfg() { $B inspect --type image --format "$1" "$IMAGE"; }
[ "$(cfg '{{.OCIv1.Config.Entrypoint}}')" = "[/flowfence]" ] || fail "entrypoint is not [/flowfence]: $(cfg '{{.OCIv1.Config.Entrypoint}}')"
[ "$(cfg '{{.OCIv1.Config.User}}')" = "65532:65532" ] || fail "user is not 65532:65532: $(cfg '{{.OCIv1.Config.User}}')"
for l in source version revision licenses; do
	[ -n "$(cfg "{{index .OCIv1.Config.Labels \"org.opencontainers.image.$l\"}}")" ] || fail "label org.opencontainers.image.$l missing"
done
rev=$(git rev-parse HEAD)
[ "$(cfg '{{index .OCIv1.Config.Labels "org.opencontainers.image.revision"}}')" = "$rev" ] || fail "revision label is not $rev"

mkdir -p "$work/flows" "$work/out"
cp testdata/flows/*.json* "$work/flows/"
chmod -R a+rX "$work/flows"
chmod 0777 "$work/out"
ctr=$($B from --pull-never "$IMAGE")
run() { $B run --isolation chroot --user 65532:65532 -v "$work/flows:/flows:ro" -v "$work/out:/out" "$ctr" -- "$@"; }

# the static binary starts in the empty image
if run /flowfence --help | grep -q '^  version'; then
	run /flowfence version >"$work/version.txt" || fail "flowfence version failed in the image"
	grep -q "$rev" "$work/version.txt" || fail "flowfence version does not print the revision $rev: $(cat "$work/version.txt")"
else
	run /flowfence --help >"$work/help.txt" || fail "flowfence --help failed in the image"
	grep -q 'Usage:' "$work/help.txt" || fail "flowfence --help printed no usage"
fi

# generate on the sample, as uid 65532, into the mounted directory
run /flowfence generate --from '/flows/*.json*' --out /out/tree --quiet || fail "flowfence generate failed in the image"
[ "$(stat -c %u "$work/out/tree")" = 65532 ] || fail "the tree is not owned by uid 65532"
for f in ROLLOUT.md shop/kustomization.yaml shop/00-default-deny.yaml; do
	[ -s "$work/out/tree/$f" ] || fail "the tree lacks $f"
done
ls "$work"/out/tree/*/FLOWS.md >/dev/null 2>&1 || fail "the tree has no namespace FLOWS.md"

# the same tree the host's binary generates from the same files
bin/image/flowfence generate --from "$work/flows/*.json*" --out "$work/host" --quiet
diff -r "$work/host" "$work/out/tree" >"$work/diff.txt" || fail "the image's tree differs from the host's: $(head -40 "$work/diff.txt")"

echo "test-image: ok ($IMAGE: entrypoint, uid 65532, OCI labels; generate on the sample equals the host's tree) in $(( $(date +%s) - start ))s"
