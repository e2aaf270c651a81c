// Package verifiertest holds the helpers the tests of the policy engines
// of other flavors (verifier/cilium, verifier/calico) share: decoding and
// compiling a YAML string of policy documents, building a pod peer,
// replaying probes through an engine and checking that a document fails
// to decode with a message naming it. Only tests import it.
package verifiertest

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/flowfence/flowfence/verifier"
)

// CalicoDefaultDeny is a Calico NetworkPolicy isolating every pod of
// namespace shop in both directions.
const CalicoDefaultDeny = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  selector: all()
  types: [Ingress, Egress]
`

// Decode decodes each document or fails the test.
func Decode[O any](t testing.TB, decode func([]byte) (O, error), docs ...string) []O {
	t.Helper()
	var objs []O
	for _, d := range docs {
		o, err := decode([]byte(d))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		objs = append(objs, o)
	}
	return objs
}

// Load decodes the documents of a YAML string (separated by "---" lines)
// and compiles them, or fails the test.
func Load[O, E any](t testing.TB, y string, decode func([]byte) (O, error), compile func([]O) (E, error)) E {
	t.Helper()
	e, err := compile(Decode(t, decode, documents(y)...))
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return e
}

// documents splits a YAML string at its "---" lines, leaving out empty
// documents.
func documents(y string) []string {
	var docs []string
	for _, d := range bytes.Split([]byte(y), []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) != 0 {
			docs = append(docs, string(d))
		}
	}
	return docs
}

// Pod is a pod of namespace ns with the labels kv (key, value, ...); its
// namespace carries the name label and team=<ns>-team.
func Pod(ns string, kv ...string) verifier.Peer {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return verifier.Peer{IsPod: true, Namespace: ns, Labels: l, NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns, "team": ns + "-team"}}
}

// Probe is one flow and whether the engine must admit it. It is an
// unnamed struct type so that the tests' tables may list its fields in
// order.
type Probe = struct {
	Name     string
	Src, Dst verifier.Peer
	Proto    string
	Port     int32
	Allowed  bool
}

// Run evaluates each probe as a subtest: the verdict must be Allowed
// exactly when the probe says so, and Verdict must agree with Evaluate.
func Run(t *testing.T, e verifier.Evaluator, probes []Probe) {
	t.Helper()
	for _, p := range probes {
		t.Run(p.Name, func(t *testing.T) {
			tr := verifier.Traffic{Src: p.Src, Dst: p.Dst, Protocol: corev1.Protocol(p.Proto), Port: p.Port}
			res := e.Evaluate(tr)
			if got := res.Verdict == verifier.Allowed; got != p.Allowed {
				t.Errorf("allowed = %v, want %v: %s", got, p.Allowed, res.Reason)
			}
			if e.Verdict(tr) != res.Verdict {
				t.Error("Verdict and Evaluate disagree")
			}
		})
	}
}

// BadDoc is a document that must not decode, and a part of the error
// that names it and says why. An unnamed struct type, like Probe.
type BadDoc = struct{ Name, Doc, Want string }

// DecodeErrors decodes each document as a subtest and wants an error
// containing its Want.
func DecodeErrors[O any](t *testing.T, decode func([]byte) (O, error), docs []BadDoc) {
	t.Helper()
	for _, c := range docs {
		t.Run(c.Name, func(t *testing.T) {
			if _, err := decode([]byte(c.Doc)); err == nil || !strings.Contains(err.Error(), c.Want) {
				t.Errorf("err = %v, want it to contain %q", err, c.Want)
			}
		})
	}
}

// CompileErrors decodes the documents of each Doc (separated by "---"
// lines) and compiles them as a subtest: decoding must succeed and
// compiling fail with an error containing its Want.
func CompileErrors[O, E any](t *testing.T, decode func([]byte) (O, error), compile func([]O) (E, error), docs []BadDoc) {
	t.Helper()
	for _, c := range docs {
		t.Run(c.Name, func(t *testing.T) {
			objs := Decode(t, decode, documents(c.Doc)...)
			if _, err := compile(objs); err == nil || !strings.Contains(err.Error(), c.Want) {
				t.Errorf("err = %v, want it to contain %q", err, c.Want)
			}
		})
	}
}

// WantReason evaluates tr and wants its Reason to contain want: the
// explanation names what decided.
func WantReason(t *testing.T, e verifier.Evaluator, tr verifier.Traffic, want string) {
	t.Helper()
	if res := e.Evaluate(tr); !strings.Contains(res.Reason, want) {
		t.Errorf("reason %q does not name %q", res.Reason, want)
	}
}
