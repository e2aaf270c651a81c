// Package collectors turns flow sources (Hubble JSON exports, Calico flow
// logs, live relays) into one stream of normalized records. It detects a
// file's format from its content, never its name, and keeps the per-run
// input statistics the run summary prints.
package collectors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/flowfence/flowfence/record"
)

// Emit receives records in input order from a single goroutine. The record
// is only valid during the call.
type Emit func(r *record.Record) error

// Source is anything that produces flow records.
type Source interface {
	// Name identifies the source in messages (a path, an address).
	Name() string
	// Run streams the source's records to emit until the source ends, ctx
	// is done or emit fails. Statistics accumulate into st.
	Run(ctx context.Context, st *Stats, emit Emit) error
}

// Options configure how sources read.
type Options struct {
	// Strict makes a malformed line fatal instead of a counted warning.
	Strict bool
	// Stdin is read for the source `-`.
	Stdin io.Reader
	// Logger receives warnings (malformed lines with file:line).
	Logger *slog.Logger
	// Workers decode in parallel (0 = all cores).
	Workers int
}

// Stats counts what the collectors read. It is not safe for concurrent use:
// sources update it from the goroutine that calls emit.
type Stats struct {
	Files      int
	Lines      uint64
	FlowEvents uint64 // flow events decoded (records emitted)
	Malformed  uint64
	Truncated  uint64 // truncated last lines (rotated files): normal
	LostEvents uint64 // events the CNI reported lost (ring buffer overflow)
	// Skipped counts input that was read but is not a flow to learn from,
	// by reason.
	Skipped map[string]uint64
}

// Skip counts n skipped items for reason.
func (s *Stats) Skip(reason string, n uint64) {
	if s.Skipped == nil {
		s.Skipped = map[string]uint64{}
	}
	s.Skipped[reason] += n
}

// SkippedReasons returns the skip reasons sorted.
func (s *Stats) SkippedReasons() []string {
	keys := make([]string, 0, len(s.Skipped))
	for k := range s.Skipped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Add merges o into s.
func (s *Stats) Add(o *Stats) {
	s.Files += o.Files
	s.Lines += o.Lines
	s.FlowEvents += o.FlowEvents
	s.Malformed += o.Malformed
	s.Truncated += o.Truncated
	s.LostEvents += o.LostEvents
	for k, v := range o.Skipped {
		s.Skip(k, v)
	}
}

// SkipDroppedNames is the skip reason counted for the labels and DNS names
// that broke their syntax and were dropped from records that were kept.
const SkipDroppedNames = "invalid labels or DNS names dropped"

// maxAdmitted bounds an Admitter's memory of valid endpoints.
const maxAdmitted = 1 << 14

// Admitter applies the identity rules (record.Check) to the records of one
// file before they are emitted: a record whose namespace, pod or workload
// name is not a valid Kubernetes name is not admitted — counted under
// record.SkipInvalidIdentity and warned with file:line, or returned as a
// *LineError when Options.Strict, as a malformed line is — and invalid
// labels and DNS names are dropped from the others (counted under
// SkipDroppedNames). It remembers the endpoints it found valid by their
// ID (a decoder converts each distinct endpoint once): their names and
// labels are not checked again, only what an ID does not stand for (DNS
// names). It is used from one goroutine.
type Admitter struct {
	opts  Options
	file  string
	valid map[*record.EndpointID]struct{}
}

// NewAdmitter returns the Admitter of the records of file.
func NewAdmitter(opts Options, file string) *Admitter {
	return &Admitter{opts: opts, file: file, valid: map[*record.EndpointID]struct{}{}}
}

// Admit checks r, read at line, and cleans it in place, as record.Check
// does; ok is false when r must not be emitted, err is set when that ends
// the run (strict).
func (a *Admitter) Admit(st *Stats, line int, r *record.Record) (ok bool, err error) {
	ends := [2]struct {
		e     *record.Endpoint
		side  string
		known bool
	}{{&r.Src, "source", a.known(&r.Src)}, {&r.Dst, "destination", a.known(&r.Dst)}}
	for _, end := range ends {
		if end.known {
			continue
		}
		if cerr := end.e.CheckIdentity(end.side); cerr != nil {
			st.Skip(record.SkipInvalidIdentity, 1)
			lerr := &LineError{File: a.file, Line: line, Err: cerr}
			if a.opts.Strict {
				return false, lerr
			}
			if a.opts.Logger != nil {
				a.opts.Logger.Warn("skipping a record with an invalid identity", "at", lerr.Error())
			}
			return false, nil
		}
	}
	dropped := 0
	for _, end := range ends {
		if end.known {
			dropped += dropBadNames(end.e)
			continue
		}
		labels := len(end.e.Labels) + len(end.e.NamespaceLabels)
		d := end.e.Clean()
		if len(end.e.Labels)+len(end.e.NamespaceLabels) != labels {
			// labels dropped: the endpoint no longer is its conversion
			end.e.ID = nil
		}
		if d == 0 && end.e.ID != nil {
			// valid and clean: remembered
			if len(a.valid) >= maxAdmitted {
				clear(a.valid)
			}
			a.valid[end.e.ID] = struct{}{}
		}
		dropped += d
	}
	if r.DNSQuery != "" && !record.ValidDNSName(r.DNSQuery) {
		r.DNSQuery = ""
		dropped++
	}
	if dropped > 0 {
		st.Skip(SkipDroppedNames, uint64(dropped))
	}
	return true, nil
}

// known reports whether e stands for an endpoint found valid and clean.
func (a *Admitter) known(e *record.Endpoint) bool {
	if e.ID == nil {
		return false
	}
	_, ok := a.valid[e.ID]
	return ok
}

// dropBadNames drops the endpoint's invalid DNS names (its labels are
// known valid) and returns how many it dropped.
func dropBadNames(e *record.Endpoint) int {
	for _, n := range e.Names {
		if !record.ValidDNSName(n) {
			return e.Clean()
		}
	}
	return 0
}

// LineError is a malformed input line.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Format is a detected input format.
type Format string

// Formats flowfence reads.
const (
	FormatUnknown       Format = ""
	FormatHubble        Format = "hubble-json"
	FormatHubbleLegacy  Format = "hubble-legacy-json"
	FormatCalicoFlowLog Format = "calico-flowlog"
	FormatGoldmane      Format = "goldmane-json"
	FormatGraph         Format = "flowfence-graph"
	FormatEmpty         Format = "empty"
)

// Detect guesses the format of a file from its first bytes (decompressed).
// Lines before the first one that starts a JSON value ({ or [) are
// skipped: a garbage first line does not hide the format of the rest.
func Detect(head []byte) Format {
	s := strings.TrimLeft(string(head), " \t\r\n\ufeff")
	if s == "" {
		return FormatEmpty
	}
	for s != "" && s[0] != '{' && s[0] != '[' {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return FormatUnknown
		}
		s = strings.TrimLeft(s[i+1:], " \t\r\n")
	}
	if s == "" {
		return FormatUnknown
	}
	// first line, or the first few KiB of a value that opens on a line
	// of its own (pretty-printed, a `jq -s` array): its keys follow
	first := s
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		first = s[:i]
	}
	if !strings.Contains(first, `"`) {
		first = s[:min(len(s), 8192)]
	}
	has := func(text string, keys ...string) bool {
		for _, k := range keys {
			if strings.Contains(text, `"`+k+`"`) {
				return true
			}
		}
		return false
	}
	h := s[:min(len(s), 8192)]
	switch {
	case has(s[:min(len(s), 512)], "flowfenceGraph"):
		return FormatGraph
	// Goldmane flows in any wrapping (a Flow, a FlowResult {"id","flow"},
	// a FlowListResult {"flows":[…]}; protojson camelCase or the emitter's
	// snake_case): before Hubble, whose "flow" key a FlowResult shares
	case has(h, "Key") && has(h, "sourceName", "source_name", "sourceNamespace", "source_namespace", "destName", "dest_name"):
		return FormatGoldmane
	// Calico flow logs in any wrapping (Felix lines, Elasticsearch _source
	// lines or hits, a whole search response pretty-printed over many lines)
	case has(h, "source_name_aggr", "dest_name_aggr"):
		return FormatCalicoFlowLog
	case has(first, "flow", "lost_events", "node_status", "agent_event", "debug_event",
		"lostEvents", "nodeStatus", "agentEvent", "debugEvent"):
		return FormatHubble
	case has(first, "verdict", "IP", "l4", "event_type", "Type") && has(first, "source", "destination", "time"):
		return FormatHubbleLegacy
	// Calico's keys are snake_case; "reporter" alone would also match a
	// one-line Goldmane flow (camelCase), so it does not decide
	case has(first, "source_name_aggr", "dest_name_aggr", "_source", "source_type"):
		return FormatCalicoFlowLog
	case has(s[:min(len(s), 4096)], "sourceName", "destName", "sourceNamespace", "Key"):
		return FormatGoldmane
	}
	return FormatUnknown
}

// LineFailed accounts for a line that did not decode: an unterminated last
// line is a truncated tail (counted, normal for a rotated file, never an
// error); any other is malformed: counted and warned with file:line, or
// returned as a *LineError when opts.Strict. what names the format in the
// message ("Hubble JSON").
func (s *Stats) LineFailed(opts Options, file string, line int, last bool, what string, err error) error {
	if last {
		s.Truncated++
		if opts.Logger != nil {
			opts.Logger.Debug("truncated last line (normal for a rotated file)", "file", file, "line", line)
		}
		return nil
	}
	s.Malformed++
	lerr := &LineError{File: file, Line: line, Err: fmt.Errorf("malformed %s: %w", what, err)}
	if opts.Strict {
		return lerr
	}
	if opts.Logger != nil {
		opts.Logger.Warn("skipping malformed line", "at", lerr.Error())
	}
	return nil
}
