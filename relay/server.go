// Package relay is a replay Hubble Relay: a server of the real
// observer.Observer gRPC service (GetFlows with since/until/follow/number/
// first, namespace/verdict/node filters and field masks, ServerStatus,
// GetNodes) that
// serves recorded flows — for demos without a cluster, and for tests of the
// live collector (`hubble observe --server` works against it too).
//
// Every recorded event is encoded once when the recording is built (and
// once for the first field mask a client asks for, when first sent); the
// server sends those bytes as they are (a gRPC codec that passes
// pre-encoded frames through), so replaying costs the server little more
// than the transport. It can replay at the recorded pace (or a multiple of
// it) or as fast as the client reads, loop, emulate each node's ring buffer
// (GetFlows only returns what the buffer still holds; a follower that lags
// by more than the buffer gets lost_events, as from a real node) and, for
// tests, cut streams or lose events on purpose.
package relay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	relaypb "github.com/cilium/cilium/api/v1/relay"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Version is what the relay reports as its version.
const Version = "flowfence-replay-relay/1"

// DefaultBufferSize is a Hubble node's default ring buffer capacity.
const DefaultBufferSize = 4095

// Pace says how the relay replays a recording.
type Pace int

// Paces.
const (
	// Fast: the whole recording is in the buffer from the start (subject
	// to BufferSize); with Loop, followers then get the next loops as fast
	// as they read.
	Fast Pace = iota
	// Realtime: events become available as time passes, at Speed times
	// the recorded pace, from the server's start.
	Realtime
)

// ParsePace parses "fast" or "realtime".
func ParsePace(s string) (Pace, error) {
	switch s {
	case "fast":
		return Fast, nil
	case "realtime", "real-time":
		return Realtime, nil
	}
	return Fast, fmt.Errorf("pace %q: want fast or realtime", s)
}

// Options configure a replay.
type Options struct {
	Pace Pace
	// Speed multiplies the recorded pace (Realtime); 0 means 1.
	Speed float64
	// Delay starts a Realtime replay this long after the server starts
	// (nothing is buffered before).
	Delay time.Duration
	// Loop replays the recording again and again, each loop's times moved
	// by the recording's span (plus one second) and its uuids made unique.
	Loop bool
	// BufferSize is each node's ring buffer capacity: GetFlows only sees
	// the newest BufferSize events of each node. 0 keeps everything.
	BufferSize int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// CutAfter ends every GetFlows stream with Unavailable after this many
	// events (a broken stream, for tests); 0 never.
	CutAfter int
	// LoseEvery replaces every LoseEvery-th flow of a stream with a
	// lost_events event for it (a ring buffer overflow, for tests); 0 never.
	LoseEvery int
	// StallAfter, when set, says after how many events GetFlows stream
	// number n (1-based, in the order opened) stalls: it stays open and
	// sends nothing more until the client goes away, as a relay that
	// accepted and then hung (tests); ok false: stream n does not stall.
	// ServerStatus still answers.
	StallAfter func(n int) (events int, ok bool)
	// OnSent is called after each event sent, with the server's total
	// (tests: faults at a point of the stream whatever the transport
	// buffered).
	OnSent func(total uint64)
	// Absent are nodes that have not joined the cluster yet: GetNodes
	// does not list them and no stream serves their events until
	// Server.Join, after which their buffers are there (and followers get
	// their new events), as with a node that joins (tests of sharded
	// windows that take the nodes that join).
	Absent []string
}

// Server serves a Recording as observer.Observer.
type Server struct {
	observerpb.UnimplementedObserverServer
	rec       *Recording
	opts      Options
	created   time.Time
	start     time.Time     // of the replay (created + Delay)
	period    time.Duration // virtual time between two loops' starts
	positions map[string][]int
	streams   atomic.Int64
	opened    atomic.Int64
	sent      atomic.Uint64
	// absent are the nodes not joined yet (Options.Absent, Join): an
	// immutable set replaced whole; nil when every node is there
	absent atomic.Pointer[map[string]bool]
	// masked[i] is recorded event i as the field mask maskedFor keeps it,
	// in the blocks that maskedChunk is the last of (mask.go)
	masked      []atomic.Pointer[[]byte]
	maskedMu    sync.Mutex
	maskedFor   string
	maskedChunk []byte
}

// New returns a server replaying rec from now.
func New(rec *Recording, opts Options) *Server {
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now()
	s := &Server{rec: rec, opts: opts, created: now, start: now.Add(opts.Delay), positions: map[string][]int{},
		masked: make([]atomic.Pointer[[]byte], len(rec.entries))}
	s.period = rec.last.Sub(rec.first) + time.Second
	for i := range rec.entries {
		n := rec.entries[i].node
		s.positions[n] = append(s.positions[n], i)
	}
	if len(opts.Absent) > 0 {
		absent := map[string]bool{}
		for _, n := range opts.Absent {
			absent[n] = true
		}
		s.absent.Store(&absent)
	}
	return s
}

// Join makes an absent node (Options.Absent) join: listed, its buffer
// and new events served from now on.
func (s *Server) Join(node string) {
	for {
		old := s.absent.Load()
		if old == nil || !(*old)[node] {
			return
		}
		next := map[string]bool{}
		for n := range *old {
			if n != node {
				next[n] = true
			}
		}
		if s.absent.CompareAndSwap(old, &next) {
			return
		}
	}
}

// present reports whether node has joined (see Options.Absent).
func (s *Server) present(node string) bool {
	a := s.absent.Load()
	return a == nil || !(*a)[node]
}

// Sent returns how many events the server has sent, over all streams.
func (s *Server) Sent() uint64 { return s.sent.Load() }

// Streams returns how many GetFlows streams are open.
func (s *Server) Streams() int64 { return s.streams.Load() }

// Register registers the server on g (which must use ServerOptions' codec).
func (s *Server) Register(g *grpc.Server) { observerpb.RegisterObserverServer(g, s) }

// ServerOptions are the gRPC server options the relay needs (the codec
// that sends pre-encoded events), plus TLS credentials when given.
func ServerOptions(creds credentials.TransportCredentials) []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(frameCodec{proto: encoding.GetCodecV2("proto")}),
		// a replay streams small messages as fast as the reader takes
		// them: fewer, larger writes (flow control stays gRPC's own, so a
		// slow reader holds the sender back as a relay's would)
		grpc.WriteBufferSize(256 << 10),
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	return opts
}

// NewGRPCServer returns a gRPC server with the relay registered.
func NewGRPCServer(s *Server, creds credentials.TransportCredentials, extra ...grpc.ServerOption) *grpc.Server {
	g := grpc.NewServer(append(ServerOptions(creds), extra...)...)
	s.Register(g)
	// `hubble status` asks the gRPC health service first
	hs := health.NewServer()
	hs.SetServingStatus(observerpb.Observer_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("hubble.server.Observer", healthpb.HealthCheckResponse_SERVING) // the name Hubble checks
	healthgrpc.RegisterHealthServer(g, hs)
	return g
}

// frame is a pre-encoded message.
type frame []byte

// frameCodec sends frames as they are and everything else as protobuf.
type frameCodec struct{ proto encoding.CodecV2 }

func (c frameCodec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*frame); ok {
		return mem.BufferSlice{mem.SliceBuffer(*f)}, nil
	}
	return c.proto.Marshal(v)
}

func (c frameCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

func (frameCodec) Name() string { return "proto" }

// --- virtual time -------------------------------------------------------

// n is the number of recorded events; q numbers events over loops.
func (s *Server) n() int { return len(s.rec.entries) }

// vtime is the (recorded, loop-shifted) time of event q.
func (s *Server) vtime(q int) time.Time {
	n := s.n()
	return s.rec.entries[q%n].time.Add(time.Duration(q/n) * s.period)
}

// available returns how many events (over loops) have happened by now.
func (s *Server) available(now time.Time) int {
	n := s.n()
	if n == 0 {
		return 0
	}
	if s.opts.Pace == Fast {
		return n
	}
	elapsed := now.Sub(s.start)
	if elapsed < 0 {
		return 0
	}
	virt := time.Duration(float64(elapsed) * s.opts.Speed)
	loop := int(virt / s.period)
	if !s.opts.Loop && loop > 0 {
		return n
	}
	at := s.rec.first.Add(virt - time.Duration(loop)*s.period)
	i := sort.Search(n, func(i int) bool { return s.rec.entries[i].time.After(at) })
	return loop*n + i
}

// due returns the wall-clock time event q becomes available (Realtime).
func (s *Server) due(q int) time.Time {
	virt := s.vtime(q).Sub(s.rec.first)
	return s.start.Add(time.Duration(float64(virt) / s.opts.Speed))
}

// nodeCount returns how many events of node were among the first u.
func (s *Server) nodeCount(node string, u int) int {
	n := s.n()
	pos := s.positions[node]
	return (u/n)*len(pos) + sort.SearchInts(pos, u%n)
}

// retained reports whether event q is still in its node's ring buffer once
// u events have happened.
func (s *Server) retained(q, u int) bool {
	if s.opts.BufferSize <= 0 {
		return true
	}
	n := s.n()
	e := &s.rec.entries[q%n]
	seq := (q/n)*s.rec.perNode[e.node] + e.nodeSeq
	return s.nodeCount(e.node, u)-seq <= s.opts.BufferSize
}

// bytes returns event q encoded.
func (s *Server) bytes(q int) ([]byte, error) {
	n := s.n()
	e := &s.rec.entries[q%n]
	if q < n {
		return e.data, nil
	}
	return e.shifted(q/n, time.Duration(q/n)*s.period)
}

// --- filters ------------------------------------------------------------

// supportedFilterFields are the FlowFilter fields the relay evaluates.
var supportedFilterFields = map[protoreflect.Name]bool{"source_pod": true, "destination_pod": true, "verdict": true, "node_name": true, "uuid": true}

type filters struct {
	white, black []*flowpb.FlowFilter
	nodes        map[*flowpb.FlowFilter]*nodeFilter // node_name patterns, compiled
}

// nodeFilter is a filter's node_name patterns and its verdict per node
// name seen (a stream's few nodes; one stream's filters are not shared).
type nodeFilter struct {
	re   *regexp.Regexp
	seen map[string]bool
}

func (n *nodeFilter) match(node string) bool {
	ok, seen := n.seen[node]
	if !seen {
		ok = matchNodeName(n.re, node)
		n.seen[node] = ok
	}
	return ok
}

func newFilters(req *observerpb.GetFlowsRequest) (*filters, error) {
	for _, list := range [][]*flowpb.FlowFilter{req.GetWhitelist(), req.GetBlacklist()} {
		for _, f := range list {
			var bad []string
			f.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
				if !supportedFilterFields[fd.Name()] {
					bad = append(bad, string(fd.Name()))
				}
				return true
			})
			if len(bad) > 0 {
				return nil, status.Errorf(codes.InvalidArgument, "flowfence replay relay: unsupported flow filter field(s) %s (supported: source_pod, destination_pod, verdict, node_name, uuid)", strings.Join(bad, ", "))
			}
		}
	}
	f := &filters{white: req.GetWhitelist(), black: req.GetBlacklist(), nodes: map[*flowpb.FlowFilter]*nodeFilter{}}
	for _, list := range [][]*flowpb.FlowFilter{f.white, f.black} {
		for _, ff := range list {
			if len(ff.GetNodeName()) == 0 {
				continue
			}
			re, err := compileNodeNames(ff.GetNodeName())
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "flowfence replay relay: %v", err)
			}
			f.nodes[ff] = &nodeFilter{re: re, seen: map[string]bool{}}
		}
	}
	return f, nil
}

func (f *filters) match(e *entry) bool {
	if !e.flow {
		return true
	}
	if len(f.white) > 0 && !slices.ContainsFunc(f.white, func(ff *flowpb.FlowFilter) bool { return f.matchOne(ff, e) }) {
		return false
	}
	return !slices.ContainsFunc(f.black, func(ff *flowpb.FlowFilter) bool { return f.matchOne(ff, e) })
}

func (f *filters) matchOne(ff *flowpb.FlowFilter, e *entry) bool {
	if l := ff.GetSourcePod(); len(l) > 0 && !matchPod(l, e.srcPod) {
		return false
	}
	if l := ff.GetDestinationPod(); len(l) > 0 && !matchPod(l, e.dstPod) {
		return false
	}
	if l := ff.GetVerdict(); len(l) > 0 && !slices.Contains(l, e.verdict) {
		return false
	}
	if nf := f.nodes[ff]; nf != nil && !nf.match(e.node) {
		return false
	}
	if l := ff.GetUuid(); len(l) > 0 && !slices.Contains(l, e.uuid) {
		return false
	}
	return true
}

// matchPod matches "namespace/pod-prefix" patterns as Hubble does (a
// pattern without a namespace means the default namespace).
func matchPod(patterns []string, pod string) bool {
	if pod == "" {
		return false
	}
	for _, p := range patterns {
		if !strings.Contains(p, "/") {
			p = "default/" + p
		}
		if strings.HasPrefix(pod, p) {
			return true
		}
	}
	return false
}

// --- GetFlows -----------------------------------------------------------

// GetFlows streams the recorded events the request selects.
func (s *Server) GetFlows(req *observerpb.GetFlowsRequest, stream observerpb.Observer_GetFlowsServer) error {
	s.streams.Add(1)
	defer s.streams.Add(-1)
	flt, err := newFilters(req)
	if err != nil {
		return err
	}
	mask, err := newFieldMask(req.GetFieldMask())
	if err != nil {
		return err
	}
	if req.GetSince() != nil && req.GetUntil() != nil && req.GetUntil().AsTime().Before(req.GetSince().AsTime()) {
		return status.Error(codes.InvalidArgument, "until is before since")
	}
	if req.GetFirst() && req.GetFollow() {
		return status.Error(codes.InvalidArgument, "first and follow cannot be combined")
	}
	ss := &sender{s: s, stream: stream, mask: mask, keep: mask != nil && s.keeps(mask.key), stallAt: -1}
	if s.opts.StallAfter != nil {
		if n, ok := s.opts.StallAfter(int(s.opened.Add(1))); ok {
			ss.stallAt = max(n, 0)
		}
	}
	if s.n() == 0 {
		if req.GetFollow() {
			<-stream.Context().Done()
		}
		return nil
	}
	u := s.available(s.opts.Now())
	hist := s.history(req, flt, u)
	for _, q := range hist {
		if err := ss.send(q); err != nil {
			return err
		}
	}
	if !req.GetFollow() {
		return nil
	}
	return s.follow(req, flt, ss, u)
}

// history selects the buffered events (of the first u) the request asks
// for, in order.
func (s *Server) history(req *observerpb.GetFlowsRequest, flt *filters, u int) []int {
	lo := 0
	if since := req.GetSince(); since != nil {
		t := since.AsTime()
		lo = sort.Search(u, func(q int) bool { return !s.vtime(q).Before(t) })
	}
	var until time.Time
	if req.GetUntil() != nil {
		until = req.GetUntil().AsTime()
	}
	number := req.GetNumber()
	if number == 0 {
		if req.GetFollow() && req.GetSince() == nil {
			return nil // follow without since or number: new events only
		}
		number = math.MaxUint64
	}
	var out []int
	for q := lo; q < u; q++ {
		if !until.IsZero() && s.vtime(q).After(until) {
			break
		}
		e := &s.rec.entries[q%s.n()]
		if !s.retained(q, u) || !flt.match(e) || !s.present(e.node) {
			continue
		}
		out = append(out, q)
		if req.GetFirst() && uint64(len(out)) >= number {
			break
		}
	}
	if !req.GetFirst() && uint64(len(out)) > number {
		out = out[uint64(len(out))-number:]
	}
	return out
}

// follow streams events as they happen, from event u on.
func (s *Server) follow(req *observerpb.GetFlowsRequest, flt *filters, ss *sender, u int) error {
	ctx := ss.stream.Context()
	var until time.Time
	if req.GetUntil() != nil {
		until = req.GetUntil().AsTime()
	}
	capTotal := s.opts.BufferSize * len(s.rec.nodes)
	for q := u; ; {
		if !s.opts.Loop && q >= s.n() {
			<-ctx.Done() // the recording is over: nothing will ever come
			return nil
		}
		avail := math.MaxInt
		if s.opts.Pace == Realtime {
			avail = s.available(s.opts.Now())
			if avail <= q {
				wait := min(time.Until(s.due(q)), 100*time.Millisecond)
				t := time.NewTimer(max(wait, time.Millisecond))
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-t.C:
				}
				continue
			}
			if capTotal > 0 && avail-q > capTotal {
				// the reader fell further behind than the ring holds
				lost := avail - capTotal - q
				q += lost
				if err := ss.sendLost(uint64(lost)); err != nil {
					return err
				}
			}
		}
		for ; q < avail && (s.opts.Loop || q < s.n()); q++ {
			if !until.IsZero() && s.vtime(q).After(until) {
				return nil
			}
			if e := &s.rec.entries[q%s.n()]; !flt.match(e) || !s.present(e.node) {
				continue
			}
			if err := ss.send(q); err != nil {
				return err
			}
			if s.opts.Pace == Fast && ctx.Err() != nil {
				return nil
			}
		}
	}
}

type sender struct {
	s       *Server
	stream  observerpb.Observer_GetFlowsServer
	mask    *fieldMask // the request's field_mask (nil: whole flows)
	keep    bool       // the server keeps events masked with mask
	scratch []byte     // where events are masked
	count   int
	flows   int
	stallAt int // events after which the stream stalls (-1 never)
}

var errCut = status.Error(codes.Unavailable, "flowfence replay relay: stream cut on purpose (CutAfter)")

func (ss *sender) send(q int) error {
	s := ss.s
	if s.opts.CutAfter > 0 && ss.count >= s.opts.CutAfter {
		return errCut
	}
	if ss.stallAt >= 0 && ss.count >= ss.stallAt {
		<-ss.stream.Context().Done() // hung: nothing more, until the client gives up
		return ss.stream.Context().Err()
	}
	e := &s.rec.entries[q%s.n()]
	if e.flow {
		ss.flows++
		if s.opts.LoseEvery > 0 && ss.flows%s.opts.LoseEvery == 0 {
			return ss.sendLost(1)
		}
	}
	b, err := s.bytes(q)
	if err != nil {
		return status.Errorf(codes.Internal, "encode event %d: %v", q, err)
	}
	if ss.mask != nil {
		if b, err = ss.masked(q, b); err != nil {
			return status.Errorf(codes.Internal, "mask event %d: %v", q, err)
		}
	}
	f := frame(b)
	if err := ss.stream.SendMsg(&f); err != nil {
		return err
	}
	ss.count++
	total := s.sent.Add(1)
	if s.opts.OnSent != nil {
		s.opts.OnSent(total)
	}
	return nil
}

func (ss *sender) sendLost(n uint64) error {
	resp := &observerpb.GetFlowsResponse{
		ResponseTypes: &observerpb.GetFlowsResponse_LostEvents{LostEvents: &flowpb.LostEvent{
			Source: flowpb.LostEventSource_HUBBLE_RING_BUFFER, NumEventsLost: n,
		}},
		Time: timestamppb.New(ss.s.opts.Now()),
	}
	b, err := proto.Marshal(resp)
	if err != nil {
		return err
	}
	f := frame(b)
	ss.count++
	return ss.stream.SendMsg(&f)
}

// --- status -------------------------------------------------------------

// ServerStatus reports the buffer as a relay does: flows held, capacity,
// flows seen, connected nodes.
func (s *Server) ServerStatus(context.Context, *observerpb.ServerStatusRequest) (*observerpb.ServerStatusResponse, error) {
	now := s.opts.Now()
	u := s.available(now)
	var num uint64
	nodes := 0
	for _, node := range s.rec.nodes {
		if s.present(node) {
			num += uint64(s.held(node, u))
			nodes++
		}
	}
	resp := &observerpb.ServerStatusResponse{
		NumFlows: num, SeenFlows: uint64(u), UptimeNs: uint64(now.Sub(s.created)),
		NumConnectedNodes: wrapperspb.UInt32(uint32(nodes)), NumUnavailableNodes: wrapperspb.UInt32(0),
		Version: Version,
	}
	if s.opts.BufferSize > 0 {
		resp.MaxFlows = uint64(s.opts.BufferSize) * uint64(nodes)
	}
	if up := now.Sub(s.created).Seconds(); up > 0 {
		resp.FlowsRate = float64(u) / up
	}
	return resp, nil
}

func (s *Server) held(node string, u int) int {
	c := s.nodeCount(node, u)
	if s.opts.BufferSize > 0 {
		c = min(c, s.opts.BufferSize)
	}
	return c
}

// GetNodes lists the recording's nodes with their buffers.
func (s *Server) GetNodes(context.Context, *observerpb.GetNodesRequest) (*observerpb.GetNodesResponse, error) {
	now := s.opts.Now()
	u := s.available(now)
	resp := &observerpb.GetNodesResponse{}
	for _, node := range s.rec.nodes {
		if !s.present(node) {
			continue
		}
		nd := &observerpb.Node{
			Name: node, Version: Version, Address: "replay", State: relaypb.NodeState_NODE_CONNECTED,
			UptimeNs: uint64(now.Sub(s.created)), NumFlows: uint64(s.held(node, u)), SeenFlows: uint64(s.nodeCount(node, u)),
		}
		if s.opts.BufferSize > 0 {
			nd.MaxFlows = uint64(s.opts.BufferSize)
		}
		resp.Nodes = append(resp.Nodes, nd)
	}
	return resp, nil
}

// ErrNoFlows is returned when a recording holds no event.
var ErrNoFlows = errors.New("no Hubble events in the recording")
