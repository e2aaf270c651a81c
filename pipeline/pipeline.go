package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/goldmane"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/fleet"
	"github.com/flowfence/flowfence/learner"
	"github.com/flowfence/flowfence/record"
)

// LearnOptions configure reading and learning.
type LearnOptions struct {
	Collect      collectors.Options
	Learn        learner.Options
	Since, Until time.Time
	// Live configures the live sources: hubble://, hubble+tls:// and, for
	// checkpoints and the window, goldmane:// (see live.go).
	Live LiveOptions
	// Goldmane configures goldmane:// sources (TLS, follow; --follow and
	// --duration in Live.Relay follow too).
	Goldmane goldmane.Options
	// MaxWorkloads: warn past this many distinct workloads (0: never).
	MaxWorkloads int
	// Sources are the kinds of --from argument read (nil: DefaultSources).
	Sources []Source
	// NATS configures nats:// sources and the --publish sink (credentials, TLS).
	NATS fleet.Options
	// Fleet keeps the graph of each cluster a nats:// source merges
	// (Summary.Clusters): generate --fleet reports what only one saw.
	Fleet bool
}

// Summary is what one run read and learned.
type Summary struct {
	Input  collectors.Stats
	Graphs int // saved graphs merged
	// OutOfWindow counts records outside --since/--until.
	OutOfWindow uint64
	// Live reports each live window (hubble://: reconnects, gaps, lost
	// events, truncation).
	Live []collectors.LiveReport
	// SizeWarning says the graph holds more distinct workloads than
	// LearnOptions.MaxWorkloads ("" when it does not).
	SizeWarning string
	// Clusters are the graphs of each cluster the nats:// sources merged
	// (LearnOptions.Fleet; nil otherwise).
	Clusters map[string]*learner.Graph
}

// Learn reads every --from argument and returns the merged graph. Saved
// graphs are merged as they are; flow files are learned in one learner (so
// a connection seen on two nodes in two files is judged once).
func Learn(ctx context.Context, from []string, opts LearnOptions, log *slog.Logger) (*learner.Graph, *Summary, error) {
	if len(from) == 0 {
		return nil, nil, errors.New("--from: no source given (a file, a glob, - for stdin, or a saved graph)")
	}
	if opts.Collect.Logger == nil {
		opts.Collect.Logger = log
	}
	sum := &Summary{}
	l := learner.New(opts.Learn)
	merged := learner.NewGraph()
	emit := func(r *record.Record) error {
		if (!opts.Since.IsZero() && r.Time.Before(opts.Since)) || (!opts.Until.IsZero() && r.Time.After(opts.Until)) {
			sum.OutOfWindow++
			return nil
		}
		l.Add(r)
		return nil
	}
	sources := opts.Sources
	if sources == nil {
		sources = DefaultSources()
	}
	stdinUsed := false
	var live []liveURL
	graphsRead := false // a nats:// source ran (it follows itself)
	names := sourceNames{}
	for _, arg := range from {
		if src, ok := byScheme(sources, arg); ok {
			if src.OpenGraphs != nil {
				if err := learnGraphs(ctx, arg, src, &opts, sum, l, merged, names); err != nil {
					return nil, sum, err
				}
				graphsRead = true
				continue
			}
			if src.OpenLive != nil {
				names.addURL(arg)
				live = append(live, liveURL{arg, src}) // read after the files, together
				continue
			}
			s, err := src.OpenURL(arg, &opts)
			if err != nil {
				return nil, sum, err
			}
			names.addURL(arg)
			if err := s.Run(ctx, &sum.Input, emit); err != nil {
				return nil, sum, err
			}
			continue
		}
		paths, err := input.Expand(arg)
		if err != nil {
			return nil, sum, err
		}
		for _, p := range paths {
			if p == input.Stdin {
				if stdinUsed {
					return nil, sum, errors.New("--from -: standard input named twice")
				}
				stdinUsed = true
			}
			if err := learnFile(ctx, sources, p, p != arg, &opts, sum, merged, names, emit); err != nil {
				return nil, sum, err
			}
		}
	}
	// a window cut short (*IncompleteError) still returns what was learned
	liveOpts := opts
	if graphsRead && len(live) == 0 {
		liveOpts.Live.Relay.Follow = false // --follow was the nats:// source's
	}
	liveErr := learnLive(ctx, live, liveOpts, sum, l, merged, names, emit)
	if _, cut := liveErr.(*IncompleteError); liveErr != nil && !cut {
		return nil, sum, liveErr
	}
	g := l.Graph()
	names.applyTo(g)
	g.Merge(merged)
	// merging re-judges denied attempts on the union of the evidence
	g.Judge(opts.Learn.LearnDropped)
	if sum.SizeWarning = sizeWarning(g, opts.MaxWorkloads); sum.SizeWarning != "" && log != nil {
		log.Warn(sum.SizeWarning)
	}
	return g, sum, liveErr
}

// learnFile reads one file with the source its format selects: a saved
// graph is merged into merged, flows are learned through emit and the
// file's name for the graph noted in names.
func learnFile(ctx context.Context, sources []Source, path string, globbed bool, opts *LearnOptions, sum *Summary, merged *learner.Graph, names sourceNames, emit collectors.Emit) error {
	f, err := input.Open(path, opts.Collect.Stdin)
	if err != nil {
		return err
	}
	head, err := f.Peek(8192)
	if err != nil {
		f.Close()
		return err
	}
	format := collectors.Detect(head)
	src, ok := byFormat(sources, format)
	switch {
	case format == collectors.FormatEmpty:
		f.Close()
		sum.Input.Files++
		sum.Input.Skip("empty files", 1)
		if opts.Collect.Logger != nil {
			opts.Collect.Logger.Warn("empty input", "file", f.Name)
		}
		return nil
	case ok && src.ReadGraph != nil:
		defer f.Close()
		g, err := src.ReadGraph(f.Name, f.Reader())
		if err != nil {
			return err
		}
		merged.Merge(g)
		sum.Graphs++
		return nil
	case ok:
		defer names.addFile(path, f)
		return src.OpenFile(f, opts).Run(ctx, &sum.Input, emit)
	default:
		f.Close()
		if globbed {
			// a glob over a directory may match notes and such: say so, go on
			sum.Input.Skip("files a glob matched that are not flows", 1)
			if opts.Collect.Logger != nil {
				opts.Collect.Logger.Warn("skipping a file the glob matched: not a flow format", "file", f.Name)
			}
			return nil
		}
		return fmt.Errorf("%s:1: unrecognized input: not Hubble JSON, a Calico flow log, Goldmane JSON or a flowfence graph", f.Name)
	}
}

// WriteGraph writes g to path atomically, merging into the graph already
// there when merge is true.
func WriteGraph(path string, g *learner.Graph, merge bool) (*learner.Graph, error) {
	if merge {
		old, err := ReadGraphFile(path)
		if err != nil {
			return nil, err
		}
		if old != nil {
			old.Merge(g)
			g = old
		}
	}
	return g, learner.WriteGraphFile(path, g)
}

func fmtT(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
