package learner

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/record"
)

// A saved graph is input like any flow file: it may be committed next to a
// policy tree and read by a periodic `diff --update`, so whoever can change
// it can try what a flow record can. ReadGraph applies the identity rules
// of record/validate.go to every node: a node whose namespace, workload,
// pod or cluster name is not a valid Kubernetes name (or whose id does not
// say what the node is) fails the read with an error naming the file and
// the node — flowfence never wrote such a node, and silently dropping it
// would let `diff --update` rewrite the graph without it. Labels and DNS
// names that break their syntax are dropped, as at ingest, and counted in
// the graph's skip counters. The decompressed size is capped.

// DefaultMaxGraphBytes is the default cap on the decompressed size of a
// saved graph (ReadGraph): a graph of 10,000 workloads and 100,000 edges is
// about 60 MB; a gzip bomb stops here instead of exhausting memory. The
// JSON decoder buffers a document whole (doubling its buffer), so reading
// up to the cap takes about 3.5 times the cap in heap
// (TestReadGraphCapsGzipBomb fails past 8 times), about what decoding a
// legitimate graph of that size takes anyway.
const DefaultMaxGraphBytes int64 = 1 << 30

// SkipGraphNames is the skip reason counted for labels and DNS names
// dropped from a saved graph.
const SkipGraphNames = "invalid labels and DNS names dropped from a saved graph"

// ErrGraphTooLarge is returned (wrapped) when a saved graph exceeds its cap.
var ErrGraphTooLarge = errors.New("saved graph too large")

// checkNode applies the identity rules to a node read from file name (i is
// its index there), dropping its invalid labels and DNS names; dropped
// counts them.
func checkNode(name string, i int, n *Node) (dropped int, err error) {
	bad := func(what, v string) error {
		return fmt.Errorf("%s: node %d (%s): %s %s is not valid", name, i, escape.Snippet(n.ID, 80), what, escape.Snippet(v, 80))
	}
	switch n.Kind {
	case NodeWorkload:
		ep := record.Endpoint{Namespace: n.Namespace, WorkloadName: n.Name, WorkloadKind: n.WorkloadKind, Cluster: n.Cluster}
		if err := ep.CheckIdentity("graph"); err != nil {
			return 0, fmt.Errorf("%s: node %d (%s): %w", name, i, escape.Snippet(n.ID, 80), err)
		}
		if n.Namespace == "" || n.Name == "" {
			return 0, bad("workload without namespace or name", n.Namespace+"/"+n.Name)
		}
		if n.ID != workloadID(n) {
			return 0, bad("id (want "+workloadID(n)+")", n.ID)
		}
		for _, p := range n.Pods {
			if !validPod(p) {
				return 0, bad("pod name", p)
			}
		}
		if n.Entity != "" || n.IP != "" {
			return 0, bad("workload with an entity or address", n.Entity+n.IP)
		}
	case NodeExternal, NodeEntity:
		if n.Namespace != "" || n.Name != "" || n.Cluster != "" || n.WorkloadKind != "" || len(n.Pods) > 0 || len(n.Labels)+len(n.LabelSets)+len(n.NamespaceLabels) > 0 {
			return 0, bad("non-workload node with workload fields", n.Namespace+"/"+n.Name)
		}
		if n.IP != "" {
			a, err := netip.ParseAddr(n.IP)
			if err != nil || a.Zone() != "" || a.Unmap().String() != n.IP {
				return 0, bad("address", n.IP)
			}
		}
		want := ""
		if n.Kind == NodeExternal {
			if n.IP == "" || n.Entity != string(record.EntityWorld) {
				return 0, bad("external node (needs an address and entity world)", n.Entity)
			}
			want = "ip:" + n.IP
		} else {
			if !validEntity(n.Entity) {
				return 0, bad("entity", n.Entity)
			}
			want = "entity:" + n.Entity
			if n.IP != "" {
				want += "/" + n.IP
			}
		}
		if n.ID != want {
			return 0, bad("id (want "+want+")", n.ID)
		}
	default:
		return 0, bad("kind", string(n.Kind))
	}
	dropped += dropBadLabels(&n.Labels) + dropBadLabels(&n.NamespaceLabels)
	for j := range n.LabelSets {
		dropped += dropBadLabels(&n.LabelSets[j])
	}
	n.Names, dropped = validNames(n.Names, dropped)
	return dropped, nil
}

// workloadID is the id the learner gives a workload node (computeNodeID).
func workloadID(n *Node) string {
	var b strings.Builder
	b.WriteString("pod:")
	if n.Cluster != "" && n.Cluster != "default" {
		b.WriteString(n.Cluster + "/")
	}
	b.WriteString(n.Namespace + "/" + n.Name)
	return b.String()
}

// validPod accepts a pod name or a Calico aggregated name (a valid
// generateName prefix followed by "*").
func validPod(p string) bool {
	if IsAggregatedName(p) {
		p = strings.TrimRight(strings.TrimSuffix(p, "*"), "-")
	}
	return record.ValidName(p)
}

func validEntity(e string) bool {
	switch record.Entity(e) {
	case record.EntityWorld, record.EntityHost, record.EntityRemoteNode, record.EntityKubeAPIServer, record.EntityHealth,
		record.EntityInit, record.EntityUnmanaged, record.EntityIngress, record.EntityUnknown:
		return true
	}
	return false
}

func dropBadLabels(m *map[string]string) int {
	n := 0
	for k, v := range *m {
		if !record.ValidLabel(k, v) {
			delete(*m, k)
			n++
		}
	}
	return n
}

// validNames keeps the valid DNS names and counts the others in dropped;
// an empty name says nothing and is dropped without being counted.
func validNames(names []string, dropped int) ([]string, int) {
	out := names[:0]
	for _, s := range names {
		switch {
		case s == "":
		case record.ValidDNSName(s):
			out = append(out, s)
		default:
			dropped++
		}
	}
	if len(out) == 0 {
		out = nil
	}
	return out, dropped
}

// saturatingAdd returns a+b, or the largest uint64 when the sum would
// wrap: two counters near the top never add up to a small number.
func saturatingAdd(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint64(0)
}
