package relay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/input"
)

// entry is one recorded event, pre-encoded once: the server sends data as
// it is, and filters on the few fields kept beside it.
type entry struct {
	data    []byte
	time    time.Time
	node    string
	srcPod  string // "namespace/pod" or ""
	dstPod  string
	uuid    string
	verdict flowpb.Verdict
	flow    bool // a flow (filters apply); else lost_events, node_status…
	nodeSeq int  // 0-based position among the entries of its node
}

// Recording is a set of recorded GetFlows events, sorted by time, ready to
// be served. It is immutable once built and safe for concurrent use.
type Recording struct {
	entries []entry
	nodes   []string       // sorted node names
	perNode map[string]int // entries per node
	first   time.Time
	last    time.Time
	// Input counts what loading read (files, lines, malformed lines).
	Input collectors.Stats
}

// Len returns the number of recorded events.
func (r *Recording) Len() int { return len(r.entries) }

// Flows returns the number of recorded flows.
func (r *Recording) Flows() int {
	n := 0
	for i := range r.entries {
		if r.entries[i].flow {
			n++
		}
	}
	return n
}

// Nodes returns the cluster node names the recording holds flows of.
func (r *Recording) Nodes() []string { return slices.Clone(r.nodes) }

// Span returns the time of the first and the last recorded event.
func (r *Recording) Span() (first, last time.Time) { return r.first, r.last }

// Load reads Hubble JSON files (the shapes flowfence reads: `hubble observe
// -o json` lines, exporter files, legacy bare flows; .gz; globs) into a
// recording. A malformed line is counted and skipped, as in `learn` (fatal
// with opts.Strict).
func Load(ctx context.Context, paths []string, opts collectors.Options) (*Recording, error) {
	var resps []*observerpb.GetFlowsResponse
	var st collectors.Stats
	for _, arg := range paths {
		files, err := input.Expand(arg)
		if err != nil {
			return nil, err
		}
		for _, p := range files {
			rs, err := loadFile(ctx, p, opts, &st)
			if err != nil {
				return nil, err
			}
			resps = append(resps, rs...)
		}
	}
	rec, err := NewRecording(resps)
	if err != nil {
		return nil, err
	}
	rec.Input = st
	return rec, nil
}

type decoded struct {
	resp *observerpb.GetFlowsResponse
	err  error
	line int
	last bool
}

func loadFile(ctx context.Context, path string, opts collectors.Options, st *collectors.Stats) ([]*observerpb.GetFlowsResponse, error) {
	f, err := input.Open(path, opts.Stdin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head, err := f.Peek(8192)
	if err != nil {
		return nil, err
	}
	switch format := collectors.Detect(head); format {
	case collectors.FormatHubble, collectors.FormatHubbleLegacy:
	case collectors.FormatEmpty:
		st.Files++
		return nil, nil
	default:
		return nil, fmt.Errorf("%s:1: not Hubble JSON (detected %q): the relay replays Hubble flows only", f.Name, format)
	}
	st.Files++
	var out []*observerpb.GetFlowsResponse
	decode := func(l input.Line, acc []decoded) []decoded {
		d := decoded{line: l.No, last: l.Last}
		if l.TooLong {
			d.err = fmt.Errorf("line longer than %d bytes", input.MaxLineBytes)
		} else {
			d.resp, d.err = DecodeJSON(l.Data)
		}
		return append(acc, d)
	}
	sink := func(batch []decoded) error {
		for _, d := range batch {
			st.Lines++
			switch {
			case d.err != nil && d.last:
				st.Truncated++
			case d.err != nil:
				st.Malformed++
				lerr := &collectors.LineError{File: f.Name, Line: d.line, Err: fmt.Errorf("malformed Hubble JSON: %w", d.err)}
				if opts.Strict {
					return lerr
				}
				if opts.Logger != nil {
					opts.Logger.Warn("skipping malformed line", "at", lerr.Error())
				}
			default:
				if d.resp.GetFlow() != nil {
					st.FlowEvents++
				}
				out = append(out, d.resp)
			}
		}
		return nil
	}
	if err := input.DecodeParallel(ctx, input.NewLines(f), opts.Workers, decode, sink); err != nil {
		var lerr *collectors.LineError
		if errors.As(err, &lerr) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return out, nil
}

// eventKeys are the top-level keys of a GetFlowsResponse / ExportEvent line.
var eventKeys = []string{"flow", "lost_events", "lostEvents", "node_status", "nodeStatus", "agent_event", "agentEvent", "debug_event", "debugEvent"}

// DecodeJSON decodes one line of Hubble JSON — a GetFlowsResponse /
// ExportEvent object or a legacy bare Flow — into a GetFlowsResponse.
// Fields newer than this build are discarded.
func DecodeJSON(b []byte) (*observerpb.GetFlowsResponse, error) {
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, err
	}
	um := protojson.UnmarshalOptions{DiscardUnknown: true}
	for _, k := range eventKeys {
		if _, ok := top[k]; ok {
			var ev observerpb.ExportEvent
			if err := um.Unmarshal(b, &ev); err != nil {
				return nil, err
			}
			resp := &observerpb.GetFlowsResponse{NodeName: ev.GetNodeName(), Time: ev.GetTime()}
			switch t := ev.GetResponseTypes().(type) {
			case *observerpb.ExportEvent_Flow:
				resp.ResponseTypes = &observerpb.GetFlowsResponse_Flow{Flow: t.Flow}
			case *observerpb.ExportEvent_LostEvents:
				resp.ResponseTypes = &observerpb.GetFlowsResponse_LostEvents{LostEvents: t.LostEvents}
			case *observerpb.ExportEvent_NodeStatus:
				resp.ResponseTypes = &observerpb.GetFlowsResponse_NodeStatus{NodeStatus: t.NodeStatus}
			default:
				return nil, nil // agent and debug events are not GetFlows events
			}
			return resp, nil
		}
	}
	var f flowpb.Flow
	if err := um.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	if f.GetTime() == nil && f.GetIP() == nil && f.GetSource() == nil && f.GetDestination() == nil {
		return nil, errors.New("JSON object is neither a Hubble flow nor a GetFlows response")
	}
	return &observerpb.GetFlowsResponse{ResponseTypes: &observerpb.GetFlowsResponse_Flow{Flow: &f}, NodeName: f.GetNodeName(), Time: f.GetTime()}, nil
}

// NewRecording builds a recording from events (nil entries are skipped).
// Events are sorted by time (stable: events without a time keep the time
// of the event before them); each is encoded once.
func NewRecording(resps []*observerpb.GetFlowsResponse) (*Recording, error) {
	rec := &Recording{perNode: map[string]int{}}
	var prev time.Time
	for _, resp := range resps {
		if resp == nil {
			continue
		}
		e, err := newEntry(resp, prev)
		if err != nil {
			return nil, err
		}
		prev = e.time
		rec.entries = append(rec.entries, e)
	}
	sort.SliceStable(rec.entries, func(i, j int) bool { return rec.entries[i].time.Before(rec.entries[j].time) })
	rec.index()
	return rec, nil
}

// index sets, for entries in time order, each entry's position among its
// node's, the count per node, the node names and the time span.
func (rec *Recording) index() {
	for i := range rec.entries {
		e := &rec.entries[i]
		e.nodeSeq = rec.perNode[e.node]
		rec.perNode[e.node]++
	}
	for n := range rec.perNode {
		if n != "" {
			rec.nodes = append(rec.nodes, n)
		}
	}
	sort.Strings(rec.nodes)
	if len(rec.entries) > 0 {
		rec.first, rec.last = rec.entries[0].time, rec.entries[len(rec.entries)-1].time
	}
}

func newEntry(resp *observerpb.GetFlowsResponse, prev time.Time) (entry, error) {
	f := resp.GetFlow()
	if f != nil {
		if resp.GetTime() == nil && f.GetTime() != nil {
			resp.Time = f.GetTime()
		}
		if resp.GetNodeName() == "" {
			resp.NodeName = f.GetNodeName()
		}
	}
	e := entry{time: prev, node: resp.GetNodeName(), flow: f != nil}
	if t := resp.GetTime(); t != nil {
		e.time = t.AsTime()
	} else if !prev.IsZero() {
		resp.Time = timestamppb.New(prev)
	}
	if f != nil {
		e.uuid = f.GetUuid()
		e.verdict = f.GetVerdict()
		e.srcPod = podName(f.GetSource())
		e.dstPod = podName(f.GetDestination())
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err != nil {
		return entry{}, fmt.Errorf("encode recorded event: %w", err)
	}
	e.data = data
	return e, nil
}

func podName(ep *flowpb.Endpoint) string {
	if ep.GetPodName() == "" && ep.GetNamespace() == "" {
		return ""
	}
	return ep.GetNamespace() + "/" + ep.GetPodName()
}

// shifted returns the event of loop k: times moved by shift and the uuid
// made unique per loop, re-encoded.
func (e *entry) shifted(k int, shift time.Duration) ([]byte, error) {
	var resp observerpb.GetFlowsResponse
	if err := proto.Unmarshal(e.data, &resp); err != nil {
		return nil, err
	}
	move := func(t *timestamppb.Timestamp) *timestamppb.Timestamp {
		if t == nil {
			return nil
		}
		return timestamppb.New(t.AsTime().Add(shift))
	}
	resp.Time = move(resp.Time)
	if f := resp.GetFlow(); f != nil {
		f.Time = move(f.Time)
		if f.Uuid != "" {
			f.Uuid = loopUUID(f.Uuid, k)
		}
	}
	return proto.Marshal(&resp)
}

// loopUUID is the uuid of a flow in loop k: a name-based UUID (the
// layout of RFC 9562's version 8) hashed from the flow's uuid and k, so
// that copies are unique and look like Hubble's uuids (consumers that
// keep canonical uuids compactly treat them as they would a real relay's).
func loopUUID(uuid string, k int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s/loop/%d", uuid, k))
	h[6] = h[6]&0x0f | 0x80 // version 8
	h[8] = h[8]&0x3f | 0x80 // variant 10
	var b [36]byte
	hex.Encode(b[0:8], h[0:4])
	hex.Encode(b[9:13], h[4:6])
	hex.Encode(b[14:18], h[6:8])
	hex.Encode(b[19:23], h[8:10])
	hex.Encode(b[24:36], h[10:16])
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
	return string(b[:])
}

// Shifted returns a copy of the recording with every time moved by d
// (uuids unchanged), e.g. to make a recording look recent.
func (r *Recording) Shifted(d time.Duration) (*Recording, error) {
	out := &Recording{entries: make([]entry, len(r.entries)), nodes: r.nodes, perNode: r.perNode,
		first: r.first.Add(d), last: r.last.Add(d), Input: r.Input}
	for i := range r.entries {
		e := r.entries[i]
		var resp observerpb.GetFlowsResponse
		if err := proto.Unmarshal(e.data, &resp); err != nil {
			return nil, err
		}
		if resp.Time != nil {
			resp.Time = timestamppb.New(resp.Time.AsTime().Add(d))
		}
		if f := resp.GetFlow(); f != nil && f.Time != nil {
			f.Time = timestamppb.New(f.Time.AsTime().Add(d))
		}
		data, err := proto.MarshalOptions{Deterministic: true}.Marshal(&resp)
		if err != nil {
			return nil, err
		}
		e.data, e.time = data, e.time.Add(d)
		out.entries[i] = e
	}
	return out, nil
}

// Rebased returns a copy of the recording moved in time, by whole seconds,
// to end at now (startNow false: the buffer holds the recent past, so
// `--since 1h` finds its last hour) or to start at now (startNow true: a
// realtime replay plays it from now on).
func (r *Recording) Rebased(now time.Time, startNow bool) (*Recording, error) {
	anchor := r.last
	if startNow {
		anchor = r.first
	}
	// truncated towards zero: the newest flow ends at most a second before now
	return r.Shifted(now.Sub(anchor).Truncate(time.Second))
}

// Repeat returns the recording played n times back to back, each copy's
// times moved by the recording's span plus a second and its uuids made
// unique (a larger synthetic recording, e.g. for benchmarks). A copy's
// events are the recording's, shifted as a loop's are (entry.shifted):
// copies follow each other in time, so the result is in time order as
// NewRecording would sort it (TestRepeat checks the two agree).
func (r *Recording) Repeat(n int) (*Recording, error) {
	period := r.last.Sub(r.first) + time.Second
	out := &Recording{entries: make([]entry, 0, max(n, 0)*len(r.entries)), perNode: map[string]int{}, Input: r.Input}
	for k := range n {
		shift := time.Duration(k) * period
		for i := range r.entries {
			e := r.entries[i]
			if k > 0 {
				data, err := e.shifted(k, shift)
				if err != nil {
					return nil, err
				}
				e.data, e.time = data, e.time.Add(shift)
				if e.uuid != "" {
					e.uuid = loopUUID(e.uuid, k)
				}
			}
			out.entries = append(out.entries, e)
		}
	}
	out.index()
	return out, nil
}
