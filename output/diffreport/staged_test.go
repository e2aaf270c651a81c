package diffreport_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/output/diffreport"
	calicoeval "github.com/flowfence/flowfence/verifier/calico"
)

// TestStagedPromotionIsReported: a verification of a tree with Calico
// staged policies says, in every format, that they were evaluated as
// promoted and what promotion sets, replaces and deletes; a tree without
// staged policies says nothing of it. A name from the tree cannot add a
// line or a table cell.
func TestStagedPromotionIsReported(t *testing.T) {
	pr := &calicoeval.Promotion{
		Set:      []string{"NetworkPolicy shop/web-ingress", "NetworkPolicy shop/x\n| injected |"},
		Replaced: []string{"NetworkPolicy shop/web-ingress", "NetworkPolicy shop/x\n| injected |"},
		Deleted:  []string{"NetworkPolicy shop/old"},
		Absent:   []string{"GlobalNetworkPolicy gone"},
	}
	for _, c := range []struct {
		name      string
		promotion *calicoeval.Promotion
		text      []string
		markdown  []string
	}{
		{"staged", pr,
			[]string{
				"  staged policies evaluated as promoted (what the tree enforces once they are): 2 set, 2 delete\n",
				"    replaced by the staged policy of the same name: NetworkPolicy shop/web-ingress, NetworkPolicy shop/x",
				"    deleted by a staged Delete: NetworkPolicy shop/old\n",
				"    deleted by a staged Delete, not in the tree: GlobalNetworkPolicy gone\n",
			},
			[]string{
				"\nStaged policies evaluated as promoted (what the tree enforces once they are): 2 set, 2 delete.\n",
				"\n- replaced by the staged policy of the same name: NetworkPolicy shop/web-ingress, NetworkPolicy shop/x",
			}},
		{"not staged", nil, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := &diffcheck.Verification{CNI: "calico", Dir: "policies", Policies: 3, Promotion: c.promotion}
			var text bytes.Buffer
			diffreport.VerifyText(&text, v)
			d := &diffcheck.Diff{Policies: "policies", Verification: v}
			var dtext bytes.Buffer
			diffreport.DiffText(&dtext, d)
			md := string(diffreport.Markdown(d))
			for _, out := range []string{text.String(), dtext.String()} {
				if c.promotion == nil && strings.Contains(out, "staged") {
					t.Errorf("a tree without staged policies:\n%s", out)
				}
				for _, want := range c.text {
					if !strings.Contains(out, want) {
						t.Errorf("text lacks %q:\n%s", want, out)
					}
				}
				if strings.Contains(out, "\n| injected") {
					t.Errorf("a policy name added a line:\n%s", out)
				}
			}
			if strings.Contains(md, "\n| injected") {
				t.Errorf("a policy name added a table row:\n%s", md)
			}
			for _, want := range c.markdown {
				if !strings.Contains(md, want) {
					t.Errorf("markdown lacks %q:\n%s", want, md)
				}
			}
			for name, doc := range map[string]any{"verify": diffreport.NewVerifyDoc(v), "diff": diffreport.NewDiffDoc(d)} {
				b, err := diffreport.Marshal(doc)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]json.RawMessage
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				raw, ok := m["staged"]
				if ok != (c.promotion != nil) {
					t.Fatalf("%s -o json: staged present %v, want %v", name, ok, c.promotion != nil)
				}
				if !ok {
					continue
				}
				var got diffreport.StagedDoc
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				if got.EvaluatedAs != "promoted" || len(got.Set) != 2 || len(got.Replaced) != 2 || len(got.Deleted) != 1 || len(got.Absent) != 1 {
					t.Errorf("%s -o json staged: %s", name, raw)
				}
				if !strings.Contains(string(raw), `"deletedNotInTree": [`) || got.Absent[0] != "GlobalNetworkPolicy gone" {
					t.Errorf("%s -o json staged: %s", name, raw)
				}
			}
		})
	}
}
