package diffreport_test

import (
	"bytes"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/escape/escapetest"
	"github.com/flowfence/flowfence/output/diffreport"
)

// renamer renames the names of a diff.
type renamer struct{ *escapetest.Renamer }

func (r *renamer) list(l []string) []string {
	var out []string
	for _, s := range l {
		out = append(out, r.Name(s))
	}
	return out
}

func (r *renamer) side(s *diffcheck.Side) *diffcheck.Side {
	if s == nil {
		return nil
	}
	c := *s
	c.Policies, c.Matched = r.list(s.Policies), r.list(s.Matched)
	return &c
}

func (r *renamer) flows(fs []diffcheck.Flow) []diffcheck.Flow {
	var out []diffcheck.Flow
	for _, f := range fs {
		f.Src, f.Dst, f.Source, f.Destination = r.Name(f.Src), r.Name(f.Dst), r.Name(f.Source), r.Name(f.Destination)
		f.SrcNamespace, f.DstNamespace, f.Protocol, f.Reason = r.Name(f.SrcNamespace), r.Name(f.DstNamespace), r.Name(f.Protocol), r.Name(f.Reason)
		f.Egress, f.Ingress, f.Namespaces = r.side(f.Egress), r.side(f.Ingress), r.list(f.Namespaces)
		out = append(out, f)
	}
	return out
}

// renameDiff returns a copy of d with every name from input renamed.
func renameDiff(d *diffcheck.Diff, names []string, offset int) (*diffcheck.Diff, *renamer) {
	r := &renamer{escapetest.NewRenamer(names, offset)}
	out := *d
	out.Policies, out.Baseline = r.Name(d.Policies), r.Name(d.Baseline)
	if v := d.Verification; v != nil {
		c := *v
		c.Dir = r.Name(v.Dir)
		c.Files = map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(v.Files)) {
			c.Files[r.Name(k)] = r.Name(v.Files[k])
		}
		c.Denied, c.Host, c.Inexpressible, c.Guarded, c.Uncovered, c.DeniedAttempts = r.flows(v.Denied), r.flows(v.Host), r.flows(v.Inexpressible), r.flows(v.Guarded), r.flows(v.Uncovered), r.flows(v.DeniedAttempts)
		out.Verification = &c
	}
	out.Undocumented, out.NewEdges, out.VanishedEdges = r.flows(d.Undocumented), r.flows(d.NewEdges), r.flows(d.VanishedEdges)
	out.Stale = nil
	for _, s := range d.Stale {
		s.Policy, s.Namespace, s.File, s.Direction, s.Peer, s.Port, s.Note = r.Name(s.Policy), r.Name(s.Namespace), r.Name(s.File), r.Name(s.Direction), r.Name(s.Peer), r.Name(s.Port), r.Name(s.Note)
		out.Stale = append(out.Stale, s)
	}
	out.Namespaces = nil
	for _, n := range d.Namespaces {
		n.Namespace = r.Name(n.Namespace)
		out.Namespaces = append(out.Namespaces, n)
	}
	return &out, r
}

// TestMarkdownHostileNames: the PR comment of the sample diff with every
// name replaced by a hostile one (testdata/hostile; rotated until each has
// been shown) renders, with a real GFM renderer, to the same elements,
// attributes, table rows and columns as with plain names; each hostile
// name reads as text; every line of the Mermaid block is one the template
// writes.
func TestMarkdownHostileNames(t *testing.T) {
	hostile, err := escapetest.Names("../../testdata/hostile/markdown-names.json")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := sampleDiff(t)
	benign, plain := renameDiff(d, nil, 0)
	wantMD := diffreport.Markdown(benign)
	w, err := escapetest.Render(wantMD)
	if err != nil {
		t.Fatal(err)
	}
	wantText := escapetest.Text(w)
	wantBlocks := escapetest.MermaidBlocks(wantMD)
	if len(wantBlocks) != 1 {
		t.Fatalf("%d Mermaid blocks for plain names, want 1", len(wantBlocks))
	}
	// the names the report shows for plain names (the others are graph
	// node ids or flows the comment does not list)
	var shownAt []int
	for i, n := range plain.Used {
		if regexp.MustCompile(regexp.QuoteMeta(n) + `\b`).MatchString(wantText) {
			shownAt = append(shownAt, i)
		}
	}
	shown := map[string]bool{}
	for offset := 0; offset < len(hostile) && len(shown) < len(hostile); offset++ {
		evil, r := renameDiff(d, hostile, offset)
		gotMD := diffreport.Markdown(evil)
		g, err := escapetest.Render(gotMD)
		if err != nil {
			t.Fatal(err)
		}
		if diff := escapetest.FirstDiff(escapetest.Shape(w), escapetest.Shape(g)); diff != "" {
			t.Errorf("offset %d: hostile names change the rendered elements: %s", offset, diff)
		}
		text := escapetest.Text(g)
		for _, i := range shownAt {
			if n := r.Used[i]; !strings.Contains(text, escape.Terminal(n)) {
				t.Errorf("%q is not shown as text", n)
			} else {
				shown[hostile[(i+offset)%len(hostile)]] = true
			}
		}
		gotBlocks := escapetest.MermaidBlocks(gotMD)
		if len(gotBlocks) != 1 || len(gotBlocks[0]) != len(wantBlocks[0]) {
			t.Fatalf("offset %d: Mermaid blocks %q, want 1 of %d lines", offset, gotBlocks, len(wantBlocks[0]))
		}
		for _, l := range gotBlocks[0] {
			if !escapetest.MermaidLine(l) {
				t.Errorf("Mermaid line the template does not write: %q", l)
			}
		}
		if code := escapetest.Texts(g, "pre"); len(code) != 1 || strings.Count(code[0], "\n") != len(wantBlocks[0]) {
			t.Errorf("the rendered Mermaid block is not the template's %d lines: %q", len(wantBlocks[0]), code)
		}
	}
	for _, n := range hostile {
		if !shown[n] {
			t.Errorf("%q was never shown", n)
		}
	}
}

// TestTextHostileNames: verify's and diff's terminal reports print every
// name through escape.Terminal: no control character, the same lines as
// with plain names.
func TestTextHostileNames(t *testing.T) {
	hostile, err := escapetest.Names("../../testdata/hostile/markdown-names.json")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := sampleDiff(t)
	benign, _ := renameDiff(d, nil, 0)
	evil, _ := renameDiff(d, hostile, 0)
	for _, tt := range []struct {
		name string
		out  func(*diffcheck.Diff) []byte
	}{
		{"verify", func(d *diffcheck.Diff) []byte {
			var b bytes.Buffer
			diffreport.VerifyText(&b, d.Verification)
			return b.Bytes()
		}},
		{"diff", func(d *diffcheck.Diff) []byte { var b bytes.Buffer; diffreport.DiffText(&b, d); return b.Bytes() }},
	} {
		want, got := tt.out(benign), tt.out(evil)
		for i, c := range got {
			if c < 0x20 && c != '\n' || c == 0x7f {
				t.Errorf("%s: control byte %#x at %d: %q", tt.name, c, i, got[max(0, i-40):min(len(got), i+40)])
				break
			}
		}
		if bytes.Count(got, []byte("\n")) != bytes.Count(want, []byte("\n")) {
			t.Errorf("%s: %d lines with hostile names, %d with plain ones", tt.name, bytes.Count(got, []byte("\n")), bytes.Count(want, []byte("\n")))
		}
	}
}
