package hubblerelay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/internal/escape"
)

// Sharding one relay's cluster over several learners (--shard I/N): the
// relay's nodes are split by name (ShardOf), and shard I asks GetFlows for
// the flows of its nodes only, with Hubble's node_name filter added to
// every whitelist filter. Each node belongs to exactly one shard, and a
// flow is observed (and counted) by one node, so the shards' graphs merge
// into the graph one learner of the whole relay would learn. The resume
// cursor is per node and keeps the relay's name: the shards' graphs merged
// hold every node's cursor, whatever the split.

// Shard is one of Count shards of a relay's nodes, Index counted from 0.
// The zero value (Count 0) learns every node.
type Shard struct{ Index, Count int }

// Set reports whether the window learns one shard only.
func (s Shard) Set() bool { return s.Count > 0 }

// String is the shard as the flag writes it: I/N.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// check refuses a shard outside 0 ≤ Index < Count.
func (s Shard) check() error {
	if s.Count < 0 || (s.Set() && (s.Index < 0 || s.Index >= s.Count)) {
		return fmt.Errorf("--shard %d/%d: want I/N with 0 <= I < N (shards count from 0: 0/2 and 1/2 split a relay in two)", s.Index, s.Count)
	}
	return nil
}

// Owns reports whether node (its name as the relay lists it) is one of the
// shard's: always, when the shard is not set.
func (s Shard) Owns(node string) bool { return !s.Set() || ShardOf(node, s.Count) == s.Index }

// ShardOf returns the shard, 0 to n-1, that learns the node of this name
// (as Hubble Relay's GetNodes lists it and flows carry it in node_name:
// "NODE", or "CLUSTER/NODE" in a cluster not named "default"): the 64-bit
// FNV-1a hash of the name's bytes modulo n. The rule is part of the
// interface between shards that may run different builds on different
// platforms: it never changes (TestShardOfIsStable pins it).
func ShardOf(node string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnvOffset
	for i := 0; i < len(node); i++ {
		h = (h ^ fnv64(node[i])) * fnvPrime
	}
	return int(uint64(h) % uint64(n))
}

// defaultCluster is the cluster name Hubble gives a node name without
// one when it matches node_name filters.
const defaultCluster = "default"

// NodePattern returns the node_name filter pattern that matches exactly
// the node of this name. Hubble reads a pattern as CLUSTER/NODE, each
// part a glob over lower-case letters, digits, '-', '_' and '.' ('*'
// any run of them), a pattern without a cluster matching every cluster,
// and compares a node name without a cluster as "default/NAME". So a name
// without a cluster is sent as "default/NAME" (not NAME, which would also
// take a namesake node of another cluster of a cluster mesh), and a name
// that no pattern can name exactly — a character outside that set, a
// glob character, an empty part, a trailing dot (trimmed from patterns)
// — is refused: a shard that filtered on it would miss or steal flows.
func NodePattern(node string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("--shard: the relay lists node %q, which a Hubble node_name filter cannot name exactly (%s): learn this relay without --shard", escape.Terminal(node), why)
	}
	p := node
	if !strings.Contains(p, "/") {
		p = defaultCluster + "/" + p
	}
	parts := strings.Split(p, "/")
	if len(parts) != 2 {
		return "", bad("more than one '/'")
	}
	for _, part := range parts {
		switch {
		case part == "":
			return "", bad("an empty name")
		case strings.HasSuffix(part, "."):
			return "", bad("a trailing '.'")
		}
		for i := 0; i < len(part); i++ {
			if c := part[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return "", bad("only lower-case letters, digits, '-', '_' and '.' match themselves")
			}
		}
	}
	return p, nil
}

// DefaultShardRelist is how often a followed sharded window lists the
// relay's nodes again, to take the nodes that joined.
const DefaultShardRelist = time.Minute

func (s *Source) shardRelist() time.Duration {
	if s.opts.ShardRelist > 0 {
		return s.opts.ShardRelist
	}
	return DefaultShardRelist
}

// shardList is the shard's nodes as the relay listed them: their names,
// sorted, node_name patterns and buffers, and how many nodes the relay has.
type shardList struct {
	nodes, patterns []string
	buffers         []NodeBuffer
	total           int
}

// shardNodes lists the relay's nodes (GetNodes) and returns this shard's.
func (s *Source) shardNodes(ctx context.Context, client observerpb.ObserverClient) (*shardList, error) {
	lctx, cancel := context.WithTimeout(ctx, s.probeTimeout())
	defer cancel()
	resp, err := client.GetNodes(lctx, &observerpb.GetNodesRequest{})
	switch {
	case status.Code(err) == codes.Unimplemented:
		return nil, fmt.Errorf("--shard %s: %s does not list its nodes (GetNodes is not implemented): shard a Hubble Relay, not one node's Hubble server", s.opts.Shard, s.name)
	case err != nil:
		return nil, fmt.Errorf("--shard %s: list the nodes of %s: %s", s.opts.Shard, s.name, causeText(err))
	}
	l := &shardList{}
	for _, n := range resp.GetNodes() {
		name := n.GetName()
		if name == "" {
			return nil, fmt.Errorf("--shard %s: %s lists a node without a name: its flows cannot be given to a shard (learn this relay without --shard)", s.opts.Shard, s.name)
		}
		l.total++
		if !s.opts.Shard.Owns(name) || slices.ContainsFunc(l.buffers, func(b NodeBuffer) bool { return b.Node == name }) {
			continue
		}
		if _, err := NodePattern(name); err != nil {
			return nil, err
		}
		l.buffers = append(l.buffers, NodeBuffer{Node: name, NumFlows: n.GetNumFlows(), MaxFlows: n.GetMaxFlows()})
	}
	slices.SortFunc(l.buffers, func(a, b NodeBuffer) int { return strings.Compare(a.Node, b.Node) })
	for _, b := range l.buffers {
		p, _ := NodePattern(b.Node)
		l.nodes, l.patterns = append(l.nodes, b.Node), append(l.patterns, p)
	}
	return l, nil
}

// withNodes returns the whitelist with the shard's node patterns added to
// every filter (a filter's fields are AND-ed, the filters OR-ed), or one
// filter of the patterns alone when there is none.
func withNodes(white []*flowpb.FlowFilter, patterns []string) []*flowpb.FlowFilter {
	if len(white) == 0 {
		return []*flowpb.FlowFilter{{NodeName: slices.Clone(patterns)}}
	}
	for _, f := range white {
		f.NodeName = slices.Clone(patterns)
	}
	return white
}

// noteShard records the shard's nodes in the report (the buffers of the
// nodes it had not listed before among them) and the log.
func (s *Source) noteShard(l *shardList) {
	s.report.Shard = s.opts.Shard.String()
	s.report.ShardNodes = slices.Clone(l.nodes)
	s.report.RelayNodes = l.total
	// a relay whose status is one buffer for all its nodes keeps it as is
	if relayWide := len(s.report.Buffer) > 0 && s.report.Buffer[0].Node == ""; !relayWide {
		bufs := slices.DeleteFunc(s.report.Buffer, func(b NodeBuffer) bool { return !slices.Contains(l.nodes, b.Node) })
		for _, b := range l.buffers {
			if !slices.ContainsFunc(bufs, func(o NodeBuffer) bool { return o.Node == b.Node }) {
				bufs = append(bufs, b)
			}
		}
		slices.SortFunc(bufs, func(a, b NodeBuffer) int { return strings.Compare(a.Node, b.Node) })
		s.report.Buffer = bufs
	}
	if s.opts.Logger != nil {
		s.opts.Logger.Info("learning one shard of the relay's nodes", "relay", s.name, "shard", s.report.Shard, "nodes", strings.Join(escapeAll(l.nodes), ","), "relayNodes", l.total)
	}
}

func escapeAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = escape.Terminal(s)
	}
	return out
}

// shardLine is the summary line of a sharded window.
func (r *Report) shardLine() string {
	nodes := "none"
	if len(r.ShardNodes) > 0 {
		nodes = strings.Join(escapeAll(r.ShardNodes), ", ")
	}
	return fmt.Sprintf("             shard %s: %d of the relay's %d nodes (%s); this graph holds their flows only: merge every shard's graph before generating policies", r.Shard, len(r.ShardNodes), r.RelayNodes, nodes)
}

// waitShard lists the shard's nodes when the window opens. A followed
// window whose shard has none waits for some, listing the nodes again
// every ShardRelist (until ctx is done: nil nodes and no error; waited
// says it did); one that is not followed returns none, and the caller
// ends it empty.
func (s *Source) waitShard(ctx context.Context, client observerpb.ObserverClient) (list *shardList, waited bool, err error) {
	for ; ; waited = true {
		l, err := s.shardNodes(ctx, client)
		if err != nil {
			if ctx.Err() != nil {
				return &shardList{}, waited, nil
			}
			return nil, waited, err
		}
		if len(l.nodes) > 0 || !s.opts.Follow {
			s.noteShard(l)
			if len(l.nodes) == 0 && s.opts.Logger != nil {
				s.opts.Logger.Warn("this shard has none of the relay's nodes: nothing to learn", "relay", s.name, "shard", s.opts.Shard.String(), "relayNodes", l.total)
			}
			return l, waited, nil
		}
		if !waited && s.opts.Logger != nil {
			s.opts.Logger.Warn("this shard has none of the relay's nodes yet; waiting for one to join", "relay", s.name, "shard", s.opts.Shard.String(), "relayNodes", l.total, "every", s.shardRelist())
		}
		s.report.RelayNodes = l.total
		t := time.NewTimer(s.shardRelist())
		select {
		case <-ctx.Done():
			t.Stop()
			return &shardList{}, waited, nil
		case <-t.C:
		}
	}
}

// errShardChanged ends a stream whose shard took or lost nodes.
var errShardChanged = errors.New("the shard's nodes changed")

// relist, in a followed sharded window, lists the nodes every ShardRelist
// while the stream runs and ends it (cancel with errShardChanged) when the
// shard's nodes changed. The returned stop ends the watch and returns the
// change (nil when none). A relay that does not answer keeps the stream
// as it is: its stream says what is wrong.
func (s *Source) relist(ctx context.Context, client observerpb.ObserverClient, nodes []string, cancel context.CancelCauseFunc) (stop func() *shardList) {
	if !s.opts.Shard.Set() || !s.opts.Follow {
		return func() *shardList { return nil }
	}
	var change *shardList
	stopWatch := collectors.Every(ctx, s.shardRelist(), func() bool {
		l, err := s.shardNodes(ctx, client)
		if err != nil {
			if ctx.Err() == nil && s.opts.Logger != nil {
				s.opts.Logger.Warn("could not list the relay's nodes again; the shard keeps its nodes", "relay", s.name, "err", err)
			}
			return true
		}
		if len(l.nodes) > 0 && !slices.Equal(l.nodes, nodes) {
			change = l
			cancel(errShardChanged)
			return false
		}
		return true
	})
	return func() *shardList {
		stopWatch()
		return change
	}
}

// added reports whether next holds a node that prev does not.
func added(prev, next []string) bool {
	for _, n := range next {
		if !slices.Contains(prev, n) {
			return true
		}
	}
	return false
}
