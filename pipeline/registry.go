package pipeline

import (
	"context"
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
	// in the graph under the source's Name) and saving checkpoints.
	OpenLive func(url string, opts *LearnOptions) (LiveSource, error)
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
	// Cursor is how far the source has counted, from the run it resumes
	// (read before Run).
	Cursor() *learner.Cursor
	// Report is what the window went through (after Run).
	Report() *hubblerelay.Report
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
		{Name: "Hubble Relay", Schemes: []string{hubblerelay.Scheme, hubblerelay.SchemeTLS}, OpenLive: openRelay},
		{Name: "Goldmane", Schemes: []string{goldmane.Scheme},
			OpenURL: func(url string, opts *LearnOptions) (collectors.Source, error) {
				return goldmane.NewSource(url, opts.Goldmane)
			}},
		{Name: "NATS JetStream fleet", Schemes: []string{fleet.Scheme}, OpenGraphs: openFleet},
	}
}

// openRelay opens a hubble:// window, resumed from the cursor the base
// graph holds for it.
func openRelay(u string, opts *LearnOptions) (LiveSource, error) {
	ro := opts.Live.Relay
	if ro.Logger == nil {
		ro.Logger = opts.Collect.Logger
	}
	_, _, name, err := hubblerelay.ParseURL(u)
	if err != nil {
		return nil, err
	}
	if base := opts.Live.Base; base != nil {
		ro.Resume = base.Cursors[name]
		if !ro.Resume.Empty() && ro.Logger != nil {
			ro.Logger.Info("resuming from the graph's cursor", "relay", name, "after", ro.Resume.Last().UTC().Format(time.RFC3339Nano))
		}
	}
	return hubblerelay.New(u, ro)
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
