package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/calico"
	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/learner"
)

// Source is one kind of --from argument: a URL scheme or a file format,
// and how to read it. Learn gives each argument to the first Source whose
// Schemes prefix it; any other argument is a path or a glob, and each file
// goes to the Source whose Formats hold what collectors.Detect finds in
// its first bytes (the formats are told apart there, in one order).
// Exactly one of OpenURL, OpenLive, OpenFile, ReadGraph and OpenGraphs is set.
type Source struct {
	// Name names the source in messages.
	Name string
	// Schemes are the URL prefixes of a URL source ("goldmane://").
	Schemes []string
	// Formats are the detected file formats a file source reads.
	Formats []collectors.Format
	// OpenURL returns the source of a URL, run once in --from order.
	OpenURL func(url string, opts *LearnOptions) (collectors.Source, error)
	// OpenLive returns the source of a live window's URL: such windows
	// run together after every file, each advancing its cursor (stored
	// in the graph under the source's Name) and saving checkpoints. It
	// resumes from the cursors opts.Live.Base holds under that name.
	OpenLive func(url string, opts *LearnOptions) (LiveSource, error)
	// MergeCursors, with OpenLive, is the source's merge rule: it folds
	// the cursors a graph holds for one of its URLs (name) into one.
	MergeCursors func(name string, cursors []json.RawMessage) (json.RawMessage, error)
	// OpenFile returns the source of a file detected as one of Formats;
	// the source closes f when it has run.
	OpenFile func(f *input.File, opts *LearnOptions) collectors.Source
	// ReadGraph reads a saved graph, merged into the result as it is.
	ReadGraph func(name string, r io.Reader) (*learner.Graph, error)
	// OpenGraphs returns the source of a URL that yields graphs (the
	// fleet's deltas), run once in --from order.
	OpenGraphs func(url string, opts *LearnOptions) (GraphSource, error)
}

// GraphSource is a source of graphs (OpenGraphs): Run merges what it
// receives into g and calls save, which writes the checkpoint when the
// run has a --graph file, before it acknowledges what it merged.
type GraphSource interface {
	Name() string
	Run(ctx context.Context, g *learner.Graph, save func() error) error
}

// LiveSource is a live window's source (OpenLive).
type LiveSource interface {
	collectors.Source
	// NewCursor returns the cursor of the run the window resumes (empty
	// when none), for the live loop to advance with the records the
	// learner counted (read before Run).
	NewCursor() collectors.Cursor
	// Report is what the window went through (after Run).
	Report() collectors.LiveReport
}

// DefaultSources returns the sources flowfence reads: saved graphs, Hubble
// JSON, Calico flow logs and Goldmane JSON files, Hubble Relay
// (hubble://, hubble+tls://), Goldmane (goldmane://) and the fleet's
// deltas on NATS JetStream (nats://). The slice is the
// caller's to extend (LearnOptions.Sources).
func DefaultSources() []Source {
	return []Source{
		{Name: "flowfence graph", Formats: []collectors.Format{collectors.FormatGraph}, ReadGraph: learner.ReadGraph},
		{Name: "Hubble JSON", Formats: []collectors.Format{collectors.FormatHubble, collectors.FormatHubbleLegacy},
			OpenFile: func(f *input.File, opts *LearnOptions) collectors.Source {
				return hubble.NewFileSource(f, opts.Collect)
			}},
		{Name: "Calico flow log", Formats: []collectors.Format{collectors.FormatCalicoFlowLog},
			OpenFile: func(f *input.File, opts *LearnOptions) collectors.Source {
				return calico.NewFileSource(f, opts.Collect)
			}},
		{Name: "Goldmane JSON", Formats: []collectors.Format{collectors.FormatGoldmane},
			OpenFile: func(f *input.File, opts *LearnOptions) collectors.Source {
				return goldmane.NewFileSource(f, opts.Collect)
			}},
		{Name: "Hubble Relay", Schemes: []string{hubblerelay.Scheme, hubblerelay.SchemeTLS}, OpenLive: openRelay, MergeCursors: mergeWith(hubblerelay.DecodeCursor)},
		{Name: "Goldmane", Schemes: []string{goldmane.Scheme}, OpenLive: openGoldmane, MergeCursors: mergeWith(goldmane.DecodeCursor)},
		{Name: "NATS JetStream fleet", Schemes: []string{fleet.Scheme}, OpenGraphs: openFleet},
	}
}

// mergeWith is a live source's merge rule (Source.MergeCursors) from its
// DecodeCursor, which folds a graph's cursors of one source into one.
func mergeWith[C collectors.Cursor](decode func(name string, cursors []json.RawMessage) (C, error)) func(string, []json.RawMessage) (json.RawMessage, error) {
	return func(name string, cursors []json.RawMessage) (json.RawMessage, error) {
		c, err := decode(name, cursors)
		if err != nil || c.Empty() {
			return nil, err
		}
		return c.MarshalJSON()
	}
}

// relayWindow is a hubble:// window as a LiveSource.
type relayWindow struct{ *hubblerelay.Source }

func (w relayWindow) Report() collectors.LiveReport { return w.Source.Report() }

// resumeFrom returns the cursors the base graph holds for a live source.
func resumeFrom(opts *LearnOptions, name string) []json.RawMessage {
	if base := opts.Live.Base; base != nil {
		return base.Cursors[name]
	}
	return nil
}

// logResume says a live source resumes after a cursor.
func logResume(opts *LearnOptions, name string, after time.Time) {
	if lg := opts.Collect.Logger; lg != nil {
		lg.Info("resuming from the graph's cursor", "source", name, "after", after.UTC().Format(time.RFC3339Nano))
	}
}

// openRelay opens a hubble:// window, resumed from the cursor the base
// graph holds for it.
func openRelay(u string, opts *LearnOptions) (LiveSource, error) {
	ro := opts.Live.Relay
	if ro.Logger == nil {
		ro.Logger = opts.Collect.Logger
	}
	if m := opts.Live.Monitor; m != nil {
		ro.Monitor = m
	}
	_, _, name, err := hubblerelay.ParseURL(u)
	if err != nil {
		return nil, err
	}
	if ro.Resume, err = hubblerelay.DecodeCursor(name, resumeFrom(opts, name)); err != nil {
		return nil, fmt.Errorf("--graph: %w", err)
	}
	if !ro.Resume.Empty() {
		logResume(opts, name, ro.Resume.Last())
	}
	src, err := hubblerelay.New(u, ro)
	if err != nil {
		return nil, err
	}
	return relayWindow{src}, nil
}

// openGoldmane opens a goldmane:// window: the stored window (List), or
// with --follow/--duration/--goldmane-follow new flows (Stream); resumed
// from the cursor the base graph holds for it.
func openGoldmane(u string, opts *LearnOptions) (LiveSource, error) {
	o := opts.Goldmane
	if r := opts.Live.Relay; o.Follow == 0 && r.Duration > 0 {
		o.Follow = r.Duration
	} else if o.Follow == 0 && r.Follow {
		o.Follow = -1
	}
	var err error
	if o.Resume, err = goldmane.DecodeCursor(u, resumeFrom(opts, u)); err != nil {
		return nil, fmt.Errorf("--graph: %w", err)
	}
	if !o.Resume.Empty() {
		logResume(opts, u, o.Resume.Since())
	}
	if m := opts.Live.Monitor; m != nil {
		o.Monitor = m
	}
	return goldmane.NewSource(u, o)
}

// foldCursors replaces each set of cursors g holds for one source by the
// one its registered merge rule makes of them (a source not registered, or
// whose cursors do not fold, keeps its set: it says why when it resumes).
func foldCursors(g *learner.Graph, sources []Source) {
	for name, set := range g.Cursors {
		src, ok := byScheme(sources, name)
		if len(set) < 2 || !ok || src.MergeCursors == nil {
			continue
		}
		if c, err := src.MergeCursors(name, set); err == nil && c != nil {
			g.Cursors[name] = learner.CursorSet{}.Add(c)
		}
	}
}

// byScheme returns the source whose scheme prefixes arg.
func byScheme(sources []Source, arg string) (*Source, bool) {
	for i := range sources {
		if slices.ContainsFunc(sources[i].Schemes, func(p string) bool { return strings.HasPrefix(arg, p) }) {
			return &sources[i], true
		}
	}
	return nil, false
}

// byFormat returns the file source that reads format.
func byFormat(sources []Source, format collectors.Format) (*Source, bool) {
	for i := range sources {
		if slices.Contains(sources[i].Formats, format) {
			return &sources[i], true
		}
	}
	return nil, false
}
