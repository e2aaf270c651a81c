package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/output"
	"github.com/flowfence/flowfence/policy"
	"github.com/flowfence/flowfence/record"
	"github.com/flowfence/flowfence/synth"
)

// DefaultCheckpointInterval is how often a live window saves the graph.
const DefaultCheckpointInterval = time.Minute

// liveGCPercent is LiveGC's target when GOGC is not set.
const liveGCPercent = 200

// LiveGC is the garbage collector's target percentage for live windows
// (LiveOptions.GCPercent) that flowfence's commands ask for: 200, or 0
// (the runtime's setting) when GOGC is set, so that the user's GOGC
// stands. A live learner's garbage is mostly gRPC's receive buffers, one
// per flow message, which grpc-go does not pool under 1 KiB (a masked
// Hubble flow mostly is), while its live heap is the graph: collecting
// when the heap has grown by twice the live heap rather than once halves
// the collections, for a heap up to half as large again. Files are read
// with little garbage and keep the runtime's setting (200 made them use
// 30% more memory and no less time).
func LiveGC() int {
	if _, set := os.LookupEnv("GOGC"); set {
		return 0
	}
	return liveGCPercent
}

// LiveOptions configure the live sources (hubble://, hubble+tls://,
// goldmane://).
type LiveOptions struct {
	// Relay is shared by every live source; Resume is set per source from
	// Base's cursors.
	Relay hubblerelay.Options
	// Base is the graph the run adds to (the --graph file of `learn`): its
	// cursors resume the live sources, and checkpoints hold Base merged
	// with what was learned so far.
	Base *learner.Graph
	// CheckpointPath, when set, receives the graph (with the sources'
	// cursors) atomically every CheckpointInterval during live windows, so
	// that a killed run loses at most one interval and a restarted one
	// resumes from the cursors without counting any flow twice.
	CheckpointPath     string
	CheckpointInterval time.Duration
	// Sink, when set, sees every checkpoint saved (SaveGraph): the
	// --publish sink.
	Sink Sink
	// Progress is called about once a second during live windows, and a
	// last time with Done set (from one goroutine).
	Progress func(Progress)
	// ProgressEvery overrides the one-second period (tests).
	ProgressEvery time.Duration
	// Monitor, when set, hears the live sources' events, the progress
	// and every checkpoint as they happen (the --listen endpoints).
	Monitor Monitor
	// GCPercent, when above 0, is the garbage collector's target
	// percentage (debug.SetGCPercent, process-wide) while live windows are
	// read; the previous one is restored after. See LiveGC.
	GCPercent int
}

// Monitor watches a live run for a long-running learner's probes and
// metrics. Besides the sources' events (collectors.Monitor, passed to each
// live source), it gets the run's progress about once a second and each
// checkpoint. Implementations are safe for concurrent use.
type Monitor interface {
	collectors.Monitor
	// Progress: flows learned by the run so far and the run's graph size.
	Progress(flows uint64, nodes, edges int)
	// Checkpoint: the graph just saved (Base merged with the run so far,
	// with the cursors; nobody changes it afterwards) and the flows the
	// run had learned then; or the error of a failed save (g nil).
	Checkpoint(g *learner.Graph, flows uint64, err error)
}

// Progress is a live window's state for progress lines.
type Progress struct {
	Flows        uint64  // flows received from live sources
	Rate         float64 // flows per second since the last call
	Nodes, Edges int     // graph size so far (this run)
	Elapsed      time.Duration
	// Remaining is the time left of a --duration window (0 when unknown).
	Remaining   time.Duration
	Checkpoints int
	Done        bool
}

// ReadGraphFile reads the graph at path; a missing file is (nil, nil).
func ReadGraphFile(path string) (*learner.Graph, error) {
	g, err := learner.ReadGraphFile(path)
	_, opening := err.(*os.PathError) // ReadGraph's errors are wrapped
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case opening:
		return nil, fmt.Errorf("--graph %s: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("--graph %s: existing file: %w", path, err)
	}
	return g, nil
}

// MergeGraphs returns base merged with g (g alone when base is nil), as
// WriteGraph merges into an existing file, each live source's cursors
// folded into one by its merge rule; neither argument changes.
func MergeGraphs(base, g *learner.Graph) *learner.Graph {
	out := learner.NewGraph()
	if base != nil {
		out.Merge(base)
	}
	out.Merge(g)
	foldCursors(out, DefaultSources())
	return out
}

// WriteGraphFile writes g to path atomically.
func WriteGraphFile(path string, g *learner.Graph) error {
	if err := learner.WriteGraphFile(path, g); err != nil {
		return fmt.Errorf("--graph %s: %w", path, err)
	}
	return nil
}

// live runs the live sources together (each in its own goroutine; the
// learner sees one record at a time) until each window ends. A deliberate
// end (ctx done: Ctrl-C, SIGTERM; --duration elapsed) is not an error: what
// was learned is kept.
type live struct {
	opts    LearnOptions
	sum     *Summary
	l       *learner.Learner
	merged  *learner.Graph
	names   sourceNames // the files' names for the graph (read before)
	emit    collectors.Emit
	mu      sync.Mutex
	cursors map[string]collectors.Cursor
	flows   uint64
	cpFlows uint64 // flows at the last checkpoint
	cps     int
	cpErr   error
}

// liveURL is a live window's --from argument and its source.
type liveURL struct {
	url string
	src *Source
}

func learnLive(ctx context.Context, urls []liveURL, opts LearnOptions, sum *Summary, l *learner.Learner, merged *learner.Graph, names sourceNames, emit collectors.Emit) error {
	lo := &opts.Live
	if len(urls) == 0 {
		switch {
		case lo.Relay.Duration > 0:
			return errors.New("--duration: only for live sources (--from hubble://HOST:PORT or goldmane://HOST:PORT), not files")
		case lo.Relay.Follow:
			return errors.New("--follow: only for live sources (--from hubble://HOST:PORT or goldmane://HOST:PORT), not files")
		}
		return nil
	}
	if lo.CheckpointInterval <= 0 {
		lo.CheckpointInterval = DefaultCheckpointInterval
	}
	if lo.GCPercent > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(lo.GCPercent))
	}
	lv := &live{opts: opts, sum: sum, l: l, merged: merged, names: names, emit: emit, cursors: map[string]collectors.Cursor{}}
	var sources []LiveSource
	for _, u := range urls {
		src, err := u.src.OpenLive(u.url, &opts)
		if err != nil {
			return err
		}
		name := src.Name()
		if lv.cursors[name] != nil {
			return fmt.Errorf("--from %s: the same live source named twice", u.url)
		}
		sources = append(sources, src)
		lv.cursors[name] = src.NewCursor()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopProgress := lv.progress(ctx)
	stopCheckpoints := lv.checkpoints(ctx)
	var wg sync.WaitGroup
	errs := make([]error, len(sources))
	stats := make([]collectors.Stats, len(sources))
	for i, src := range sources {
		wg.Go(func() {
			errs[i] = src.Run(ctx, &stats[i], lv.emitLocked)
			if errs[i] != nil && !errors.Is(errs[i], collectors.ErrCutShort) {
				cancel() // one failed: end the others' windows too
			}
		})
	}
	wg.Wait()
	stopCheckpoints()
	// a window cut short keeps what it received (the caller writes it and
	// says the window is partial); any other failure fails the run
	var cut []string
	for i, err := range errs {
		if errors.Is(err, collectors.ErrCutShort) {
			cut = append(cut, err.Error())
			errs[i] = nil
		}
	}
	stopProgress(errors.Join(errs...) == nil)
	for i, src := range sources {
		sum.Input.Add(&stats[i])
		sum.Live = append(sum.Live, src.Report())
	}
	// the run's graph carries the cursors (merged with Base's by the caller)
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if err := lv.addCursors(merged); err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(cut) > 0 {
		return &IncompleteError{Windows: cut}
	}
	return lv.cpErr
}

// IncompleteError is Learn's error when a live window was cut short (its
// relay stalled or vanished for good after flows came): Learn still
// returns the graph of everything received, the summary's live windows
// say why each ended early (CutShort), and whoever writes that graph or a
// tree from it must say the window is partial (RenderLearned does in
// ROLLOUT.md). Any other caller fails on it as on any error.
type IncompleteError struct {
	// Windows are the sources' errors (each wraps collectors.ErrCutShort).
	Windows []string
}

func (e *IncompleteError) Error() string {
	return "live window incomplete: " + strings.Join(e.Windows, "; ")
}

// CutShort lists the live windows of the run that ended before their end,
// as "SOURCE: reason" (none when every window was complete).
func (s *Summary) CutShort() []string {
	var out []string
	for _, r := range s.Live {
		if why := r.CutShortReason(); why != "" {
			out = append(out, r.SourceName()+": "+why)
		}
	}
	return out
}

// RenderLearned is RenderWith for a graph Learn returned with sum: a live
// window cut short is said at the top of ROLLOUT.md.
func RenderLearned(g *learner.Graph, sum *Summary, sopts synth.Options, f output.Formatter) (*policy.Set, output.Tree, error) {
	var cut []string
	var clusters map[string]*learner.Graph
	if sum != nil {
		cut, clusters = sum.CutShort(), sum.Clusters
	}
	return renderWith(g, sopts, f, cut, clusters)
}

// addCursors adds the live sources' cursors to g (with mu held).
func (lv *live) addCursors(g *learner.Graph) error {
	for name, c := range lv.cursors {
		if c.Empty() {
			continue
		}
		b, err := c.MarshalJSON()
		if err != nil {
			return fmt.Errorf("cursor of %s: %w", name, err)
		}
		g.Cursors = g.Cursors.Add(name, b)
	}
	foldCursors(g, lv.sources())
	return nil
}

// sources are the registered sources (their merge rules).
func (lv *live) sources() []Source {
	if lv.opts.Sources != nil {
		return lv.opts.Sources
	}
	return DefaultSources()
}

// emitLocked learns one record of any live source, advances that source's
// cursor with it and saves a checkpoint when one is due.
func (lv *live) emitLocked(r *record.Record) error {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if err := lv.emit(r); err != nil {
		return err
	}
	lv.flows++
	if c := lv.cursors[r.Source]; c != nil {
		c.Advance(r)
	}
	return nil
}

// checkpoints saves a checkpoint every interval while flows came in since
// the last one, until the returned stop is called.
func (lv *live) checkpoints(ctx context.Context) (stop func()) {
	lo := &lv.opts.Live
	if lo.CheckpointPath == "" {
		return func() {}
	}
	return collectors.Every(ctx, lo.CheckpointInterval, func() bool {
		lv.mu.Lock()
		defer lv.mu.Unlock()
		if lv.flows == lv.cpFlows {
			return true
		}
		if err := lv.checkpoint(); err != nil {
			// a failed checkpoint must not lose the window: say it, go on
			lv.cpErr = err
			if lg := lv.opts.Collect.Logger; lg != nil {
				lg.Warn("checkpoint failed", "err", err)
			}
		}
		return true
	})
}

// checkpoint writes Base ⊕ (what was learned so far) with the cursors.
// Called with mu held.
func (lv *live) checkpoint() error {
	g := lv.l.Graph()
	lv.names.applyTo(g)
	g.Merge(lv.merged)
	g.Judge(lv.opts.Learn.LearnDropped)
	if err := lv.addCursors(g); err != nil {
		return err
	}
	out := MergeGraphs(lv.opts.Live.Base, g)
	if err := SaveGraph(context.Background(), lv.opts.Live.CheckpointPath, out, lv.opts.Live.Sink); err != nil {
		if m := lv.opts.Live.Monitor; m != nil {
			m.Checkpoint(nil, lv.flows, err)
		}
		return err
	}
	lv.cps++
	lv.cpFlows = lv.flows
	lv.cpErr = nil
	if m := lv.opts.Live.Monitor; m != nil {
		m.Checkpoint(out, lv.flows, nil)
	}
	return nil
}

// progress reports about once a second until the returned stop is called.
func (lv *live) progress(ctx context.Context) (stop func(final bool)) {
	fn, mon := lv.opts.Live.Progress, lv.opts.Live.Monitor
	if fn == nil && mon == nil {
		return func(bool) {}
	}
	period := lv.opts.Live.ProgressEvery
	if period <= 0 {
		period = time.Second
	}
	start := time.Now()
	dur := lv.opts.Live.Relay.Duration
	var last uint64
	lastAt := start
	report := func(done bool) {
		lv.mu.Lock()
		p := Progress{Flows: lv.flows, Checkpoints: lv.cps, Done: done}
		p.Nodes, p.Edges = lv.l.Size()
		lv.mu.Unlock()
		now := time.Now()
		p.Elapsed = now.Sub(start)
		if dt := now.Sub(lastAt).Seconds(); dt > 0 {
			p.Rate = float64(p.Flows-last) / dt
		}
		if done && p.Elapsed > 0 {
			p.Rate = float64(p.Flows) / p.Elapsed.Seconds()
		}
		last, lastAt = p.Flows, now
		if dur > 0 && dur > p.Elapsed {
			p.Remaining = dur - p.Elapsed
		}
		if mon != nil {
			mon.Progress(p.Flows, p.Nodes, p.Edges)
		}
		if fn != nil {
			fn(p)
		}
	}
	stopTicks := collectors.Every(ctx, period, func() bool { report(false); return true })
	return func(final bool) {
		stopTicks()
		if final {
			report(true)
		}
	}
}

// printLive writes the live windows' part of the run summary.
func printLive(w io.Writer, sum *Summary) {
	p := summaryPrinter(w)
	for _, r := range sum.Live {
		for _, line := range r.SummaryLines() {
			p("%s", line)
		}
	}
}
