#!/bin/sh
# build.sh DIR: builds, under DIR, one --policies tree per hostile case that
# diffcheck's TestReadTreeHostile checks (links, a FIFO, oversized files),
# for trying `flowfence verify --policies DIR/<case> --from …` by hand. Links
# and FIFOs are made here, at run time: none is committed.
set -eu
out=${1:?usage: build.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
policy='apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]'
mk() { mkdir -p "$out/$1/shop" && printf '%s\n' "$policy" > "$out/$1/shop/00-default-deny.yaml"; }
mk link-dev-zero && ln -s /dev/zero "$out/link-dev-zero/shop/zero.yaml"
mk link-passwd && ln -s /etc/passwd "$out/link-passwd/shop/passwd.yaml"
mk link-dir-out && ln -s /etc "$out/link-dir-out/etc"
mk fifo && mkfifo "$out/fifo/shop/pipe.yaml"
mk big-file && truncate -s 9M "$out/big-file/shop/big.yaml"
mk escape && cp "$here/escape.yaml" "$out/escape/shop/"
mk unknown-key && cp "$here/unknown-key.yaml" "$out/unknown-key/shop/"
echo "built under $out: $(ls "$out" | tr '\n' ' ')"
