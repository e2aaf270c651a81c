// Package oracles cross-checks flowfence's NetworkPolicy verifier against
// two independent implementations of the NetworkPolicy semantics: the
// matcher of github.com/mattfenwick/cyclonus and the evaluator of
// sigs.k8s.io/kube-network-policies. It is a separate module so that those
// heavy dependencies never enter flowfence's own go.mod; all its code is in
// tests.
package oracles
