package collectors_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/record"
)

// testValue is the toy format of TestLineFile: {"n":N} is a record of
// count N, {"skip":"why"} a skipped item, {"lost":N} N lost events.
type testValue struct {
	N    uint64 `json:"n"`
	Skip string `json:"skip"`
	Lost uint64 `json:"lost"`
}

func decodeTestValue(b []byte, v *collectors.Value) {
	var tv testValue
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if v.Err = dec.Decode(&tv); v.Err != nil {
		return
	}
	if dec.More() {
		v.Err = errors.New("trailing data")
		return
	}
	switch {
	case tv.Skip != "":
		v.Skips = append(v.Skips, tv.Skip)
	case tv.Lost > 0:
		v.Lost = tv.Lost
	default:
		v.Recs = append(v.Recs, record.Record{Count: tv.N})
	}
}

// TestLineFile: a LineFile emits its values' records in file order with
// the file's name as their source (a line of several values taken value
// by value), counts lines, skips, lost events, malformed lines and a
// truncated tail, and with Strict stops at the first malformed line after
// emitting the records before it.
func TestLineFile(t *testing.T) {
	const in = "{\"n\":1}\n{\"n\":2}{\"n\":3}\nnot json\n{\"skip\":\"why\"}\n{\"lost\":4}\n{\"n\":5}\n{\"n\":"
	for _, c := range []struct {
		name      string
		strict    bool
		workers   int
		emitted   []uint64
		malformed uint64
		truncated uint64
		err       bool
	}{
		{"lenient, one worker", false, 1, []uint64{1, 2, 3, 5}, 1, 1, false},
		{"lenient, all cores", false, 0, []uint64{1, 2, 3, 5}, 1, 1, false},
		{"strict", true, 1, []uint64{1, 2, 3}, 1, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := collectors.Options{Strict: c.strict, Workers: c.workers, Stdin: strings.NewReader(in)}
			f, err := input.Open(input.Stdin, opts.Stdin)
			if err != nil {
				t.Fatal(err)
			}
			lf := &collectors.LineFile{File: f, Opts: opts, What: "test JSON",
				NewDecode: func() collectors.DecodeValue { return decodeTestValue }}
			var st collectors.Stats
			var got []uint64
			err = lf.Run(context.Background(), &st, func(r *record.Record) error {
				if r.Source != f.Name {
					t.Errorf("record %d: source %q, want %q", r.Count, r.Source, f.Name)
				}
				got = append(got, r.Count)
				return nil
			})
			var lerr *collectors.LineError
			if c.err != errors.As(err, &lerr) || (c.err && lerr.Line != 3) {
				t.Fatalf("Run: %v (want a line error at line 3: %v)", err, c.err)
			}
			if !slices.Equal(got, c.emitted) {
				t.Errorf("emitted %v, want %v", got, c.emitted)
			}
			if st.Malformed != c.malformed || st.Truncated != c.truncated || st.Files != 1 {
				t.Errorf("stats %+v: want %d malformed, %d truncated, 1 file", st, c.malformed, c.truncated)
			}
			if !c.err && (st.Skipped["why"] != 1 || st.LostEvents != 4 || st.FlowEvents != 4 || st.Lines != 8) {
				t.Errorf("stats %+v: want 1 skipped, 4 lost, 4 flows, 8 lines", st)
			}
		})
	}
}
