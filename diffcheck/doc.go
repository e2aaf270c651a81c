// Package diffcheck replays observed flows against a committed policy tree
// and compares observations: the library behind `flowfence verify` and
// `flowfence diff`.
//
// Verify replays every learned request edge of a flow graph against the
// NetworkPolicies of a tree with the verifier (Kubernetes semantics, or
// Cilium's with CNI cilium) and sorts each edge into an Outcome: admitted,
// denied (a failure), from the pod's own node (always admitted by real
// CNIs), inexpressible (ICMP), a cloud-metadata call the guard denies on
// purpose, or traffic of an application namespace the tree has no policy
// for. Compare builds on it for diff: undocumented flows, stale rules
// (policy rules no observed flow uses, see stale.go) and new and vanished
// edges against a baseline graph. Update regenerates a tree from a
// committed graph merged with a new observation. Rendering lives in
// output/diffreport.
//
// ReadTree (readfiles.go) reads only regular files inside the policy
// directory, follows no link inside it, and bounds what it reads (8 MiB a
// file, 256 MiB a tree by default): an over-cap file is refused from its
// size before it is read, and a decoder's error quotes at most a short
// escaped snippet of the file.
package diffcheck
