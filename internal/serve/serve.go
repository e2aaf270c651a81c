// Package serve is what the long-running learner (`flowfence learn
// --follow --listen ADDR`) serves on one port: /healthz (the process
// answers), /readyz (every live source has a stream open and no learned
// flow waits longer than two checkpoint intervals to be saved), Prometheus
// /metrics (a registry of its own per Server) and GET /graph (the last
// saved graph, read-only, so a job can fetch it).
//
// The learner reports through pipeline.Monitor, which *Server implements
// with plain arguments only: serve does not import pipeline.
package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flowfence/flowfence/learner"
)

// Options configure a Server.
type Options struct {
	// CheckpointInterval is the learner's: a learned flow not saved
	// within StaleAfter (2 intervals) makes the learner unready.
	CheckpointInterval time.Duration
	// Logger receives serving errors (nil: none).
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// StaleAfter is how long a learned flow may wait to be saved before
// /readyz fails: two checkpoint intervals (a save runs every interval
// while flows come; a slow disk or a full volume makes it late).
func (o Options) StaleAfter() time.Duration { return 2 * o.CheckpointInterval }

// Server holds the learner's state for the endpoints. Its methods are safe
// for concurrent use.
type Server struct {
	opts Options
	reg  *prometheus.Registry
	m    metrics

	mu           sync.Mutex
	connected    map[string]bool // live source → stream open
	flows        uint64          // learned by the run (last Progress)
	savedFlows   uint64          // learned by the run when last saved
	unsavedSince time.Time       // when flows beyond savedFlows were first seen; zero: none
	lastErr      error           // of the last checkpoint, nil when it was saved

	graphMu   sync.Mutex
	graph     *learner.Graph // last saved; never changed once here
	graphJSON []byte         // graph's JSON, made on the first GET
}

type metrics struct {
	learned     prometheus.Counter
	skipped     *prometheus.CounterVec
	lost        *prometheus.CounterVec
	reconnects  *prometheus.CounterVec
	connected   *prometheus.GaugeVec
	runNodes    prometheus.Gauge
	runEdges    prometheus.Gauge
	graphNodes  prometheus.Gauge
	graphEdges  prometheus.Gauge
	graphRecs   *prometheus.GaugeVec
	graphSkip   *prometheus.GaugeVec
	checkpoints prometheus.Counter
	cpErrors    prometheus.Counter
	lastCP      prometheus.Gauge
}

// New returns a Server with its own registry (the Go runtime and process
// collectors included).
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Minute
	}
	s := &Server{opts: opts, reg: prometheus.NewRegistry(), connected: map[string]bool{}}
	f := func(c prometheus.Collector) prometheus.Collector { s.reg.MustRegister(c); return c }
	s.m = metrics{
		learned: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "flowfence_records_learned_total",
			Help: "Flow records learned from the live sources by this process (rate() is flows per second)."})).(prometheus.Counter),
		skipped: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowfence_records_skipped_total",
			Help: "Items read from a live source and not learned, by reason."}, []string{"source", "reason"})).(*prometheus.CounterVec),
		lost: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowfence_lost_events_total",
			Help: "Events the server reported lost (ring buffer overflow, unavailable node)."}, []string{"source"})).(*prometheus.CounterVec),
		reconnects: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowfence_reconnects_total",
			Help: "Reconnect attempts to a live source."}, []string{"source"})).(*prometheus.CounterVec),
		connected: f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flowfence_source_connected",
			Help: "1 while a live source has a stream open, else 0."}, []string{"source"})).(*prometheus.GaugeVec),
		runNodes: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowfence_run_nodes",
			Help: "Graph nodes learned by this process."})).(prometheus.Gauge),
		runEdges: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowfence_run_edges",
			Help: "Graph edges learned by this process."})).(prometheus.Gauge),
		graphNodes: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowfence_graph_nodes",
			Help: "Nodes of the saved graph (/graph): earlier runs' and this one's."})).(prometheus.Gauge),
		graphEdges: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowfence_graph_edges",
			Help: "Edges of the saved graph (/graph): earlier runs' and this one's."})).(prometheus.Gauge),
		graphRecs: f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flowfence_graph_records",
			Help: "Flow records the saved graph counts, all runs together (learned, requests, replies, denied, duplicates)."}, []string{"kind"})).(*prometheus.GaugeVec),
		graphSkip: f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flowfence_graph_skipped_records",
			Help: "Records the learner skipped, as the saved graph counts them (all runs together), by reason."}, []string{"reason"})).(*prometheus.GaugeVec),
		checkpoints: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "flowfence_checkpoints_total",
			Help: "Checkpoints of the graph file saved."})).(prometheus.Counter),
		cpErrors: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "flowfence_checkpoint_errors_total",
			Help: "Checkpoints of the graph file that failed."})).(prometheus.Counter),
		lastCP: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowfence_last_checkpoint_timestamp_seconds",
			Help: "Unix time of the last checkpoint saved (0: none yet)."})).(prometheus.Gauge),
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s
}

// Registry returns the Server's registry (tests gather from it).
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// SetGraph makes g the graph /graph serves (the graph file read at the
// start, the one written at the end); nobody may change g afterwards.
func (s *Server) SetGraph(g *learner.Graph) {
	if g == nil {
		return
	}
	s.graphMu.Lock()
	s.graph, s.graphJSON = g, nil
	s.graphMu.Unlock()
	s.m.graphNodes.Set(float64(len(g.Nodes)))
	s.m.graphEdges.Set(float64(len(g.Edges)))
	st := g.Stats
	for kind, n := range map[string]uint64{"learned": st.Learned, "requests": st.Requests, "replies": st.Replies,
		"denied": st.DeniedFlows, "duplicates": st.Duplicates} {
		s.m.graphRecs.WithLabelValues(kind).Set(float64(n))
	}
	s.m.graphSkip.Reset()
	for reason, n := range st.Skipped {
		s.m.graphSkip.WithLabelValues(reason).Set(float64(n))
	}
}

// Connected implements collectors.Monitor.
func (s *Server) Connected(source string, up bool) {
	s.mu.Lock()
	s.connected[source] = up
	s.mu.Unlock()
	v := 0.0
	if up {
		v = 1
	}
	s.m.connected.WithLabelValues(source).Set(v)
}

// Reconnected implements collectors.Monitor.
func (s *Server) Reconnected(source string) { s.m.reconnects.WithLabelValues(source).Inc() }

// Lost implements collectors.Monitor.
func (s *Server) Lost(source string, n uint64) { s.m.lost.WithLabelValues(source).Add(float64(n)) }

// Skipped implements collectors.Monitor.
func (s *Server) Skipped(source, reason string, n uint64) {
	if reason == "" {
		reason = "other"
	}
	s.m.skipped.WithLabelValues(source, reason).Add(float64(n))
}

// Progress implements pipeline.Monitor.
func (s *Server) Progress(flows uint64, nodes, edges int) {
	s.mu.Lock()
	if flows > s.flows {
		s.m.learned.Add(float64(flows - s.flows))
		s.flows = flows
	}
	if s.flows > s.savedFlows && s.unsavedSince.IsZero() {
		s.unsavedSince = s.opts.Now()
	}
	s.mu.Unlock()
	s.m.runNodes.Set(float64(nodes))
	s.m.runEdges.Set(float64(edges))
}

// Checkpoint implements pipeline.Monitor.
func (s *Server) Checkpoint(g *learner.Graph, flows uint64, err error) {
	now := s.opts.Now()
	s.mu.Lock()
	s.lastErr = err
	if err == nil {
		s.savedFlows = flows
		s.unsavedSince = time.Time{}
		if s.flows > flows { // learned while saving: waiting from now
			s.unsavedSince = now
		}
	}
	s.mu.Unlock()
	if err != nil {
		s.m.cpErrors.Inc() // the learner logs it
		return
	}
	s.m.checkpoints.Inc()
	s.m.lastCP.Set(float64(now.UnixNano()) / 1e9)
	s.SetGraph(g)
}

// Ready says whether the learner is ready, and why not.
func (s *Server) Ready() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var why []string
	if len(s.connected) == 0 {
		why = append(why, "no live source has connected yet")
	}
	var down []string
	for src, up := range s.connected {
		if !up {
			down = append(down, src)
		}
	}
	slices.Sort(down)
	for _, src := range down {
		why = append(why, "not connected: "+src)
	}
	if !s.unsavedSince.IsZero() {
		if wait := s.opts.Now().Sub(s.unsavedSince); wait > s.opts.StaleAfter() {
			msg := fmt.Sprintf("checkpoint overdue: flows learned %s ago are not saved (checkpoint interval %s)", wait.Round(time.Second), s.opts.CheckpointInterval)
			if s.lastErr != nil {
				msg += ": " + s.lastErr.Error()
			}
			why = append(why, msg)
		}
	}
	return len(why) == 0, strings.Join(why, "\n")
}

// Handler returns the endpoints: /healthz, /readyz, /metrics, /graph.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, why := s.Ready(); !ok {
			text(w, http.StatusServiceUnavailable, why)
			return
		}
		text(w, http.StatusOK, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("GET /graph", s.serveGraph)
	return mux
}

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, msg)
}

// serveGraph writes the last saved graph: a consistent one (never the
// learner's graph mid-update), the same bytes the graph file holds.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	s.graphMu.Lock()
	g, doc := s.graph, s.graphJSON
	if g != nil && doc == nil {
		var buf bytes.Buffer
		if err := g.Write(&buf); err != nil {
			s.graphMu.Unlock()
			text(w, http.StatusInternalServerError, "encode the graph: "+err.Error())
			return
		}
		doc = buf.Bytes()
		s.graphJSON = doc
	}
	s.graphMu.Unlock()
	if g == nil {
		text(w, http.StatusServiceUnavailable, "no graph saved yet: the first checkpoint comes one checkpoint interval after the first flow")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(doc)
}

// Listen serves the endpoints on addr until the returned stop is called
// (which waits up to 5 s for requests in flight). It returns the address
// bound (addr with port 0 gets a free port).
func (s *Server) Listen(addr string) (bound string, stop func(), err error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) && s.opts.Logger != nil {
			s.opts.Logger.Error("serving --listen stopped", "addr", addr, "err", err)
		}
	}()
	return lis.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-done
	}, nil
}
