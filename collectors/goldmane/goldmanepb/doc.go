// Package goldmanepb holds the Go code protoc generates for the subset of
// Calico Goldmane's flow API (goldmane.proto beside it) that flowfence
// uses: the Flows service (List, Stream) and its messages, wire-compatible
// with a real Goldmane server. Regenerate with `make proto`; `make test`
// checks that the committed files are current.
package goldmanepb
