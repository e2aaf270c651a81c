// Package collectorstest holds what the tests of the file sources
// (calico, goldmane, hubble) share: reading a file the way flowfence does,
// format detection first, a record as one comparable line, and a file's
// lines. Only tests import it.
package collectorstest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/collectors/input/inputtest"
	"github.com/flowfence/flowfence/record"
)

// Run opens path as flowfence does, fails t unless format detection on its
// head names want, and runs the source newSource builds on it with opts,
// emitting into emit. It returns the source's stats and Run's error.
func Run[S collectors.Source](t testing.TB, path string, want collectors.Format, newSource func(*input.File, collectors.Options) S, opts collectors.Options, emit collectors.Emit) (*collectors.Stats, error) {
	t.Helper()
	f, err := input.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := f.Peek(8192)
	if got := collectors.Detect(head); got != want {
		t.Fatalf("%s: Detect = %q, want %q", path, got, want)
	}
	st := &collectors.Stats{}
	return st, newSource(f, opts).Run(context.Background(), st, emit)
}

// runLogged reads path as flowfence does (detected, not strict) on
// workers, with the source's warnings captured: the records as RecordKey
// lines, the stats and the log. Run's error fails t.
func runLogged[S collectors.Source](t testing.TB, path string, want collectors.Format, newSource func(*input.File, collectors.Options) S, workers int) ([]string, *collectors.Stats, string) {
	t.Helper()
	var logs bytes.Buffer
	opts := collectors.Options{Workers: workers, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	var got []string
	st, err := Run(t, path, want, newSource, opts, func(r *record.Record) error {
		got = append(got, RecordKey(r))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st, logs.String()
}

// CheckEveryFraming runs inputtest.CheckEveryFraming on file (bad in the
// middle, on each number of workers) with the source newSource builds,
// read as runLogged reads it, and returns the records' keys from the
// one-per-line file.
func CheckEveryFraming[S collectors.Source](t *testing.T, file, bad string, workers []int, want collectors.Format, newSource func(*input.File, collectors.Options) S) []string {
	t.Helper()
	return inputtest.CheckEveryFraming(t, file, bad, workers, func(t *testing.T, path string, workers int) ([]string, uint64, uint64, string) {
		got, st, log := runLogged(t, path, want, newSource, workers)
		return got, st.Malformed, st.Truncated, log
	})
}

// RecordKey is what the learner takes from a record, as one comparable
// line: two readings of the same flows agree when their keys do.
func RecordKey(r *record.Record) string {
	ep := func(e record.Endpoint) string {
		return fmt.Sprintf("%s/%s/%s/%s[%s] %s:%d %v", e.Cluster, e.Namespace, e.Pod, e.WorkloadName, e.Entity, e.IP, e.Port, e.Labels)
	}
	return fmt.Sprintf("%s %s -> %s %v %v %v %v %v %s %s %q %d", r.Time.Format(time.RFC3339Nano), ep(r.Src), ep(r.Dst),
		r.Proto, r.Verdict, r.Direction, r.Reporter, r.Delivered, r.Node, r.UUID, r.DNSQuery, r.Flows())
}

// Lines returns the non-blank lines of a line file, trimmed, each a copy:
// the flows of a capture one at a time, for the fast decoders' agreement
// tests and fuzz corpora.
func Lines(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, bytes.Clone(l))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("lines: %v", err)
	}
	return out
}
