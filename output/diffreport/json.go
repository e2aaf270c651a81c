package diffreport

import (
	"fmt"
	"slices"
	"time"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/internal/jsondoc"
	calicoeval "github.com/flowfence/flowfence/verifier/calico"
)

// Versions of the JSON documents; a change of a field's name or meaning
// bumps them.
const (
	VerifyVersion = 1
	DiffVersion   = 1
)

// VerifyDoc is verify's JSON document (-o json).
type VerifyDoc struct {
	Version     int              `json:"flowfenceVerify"`
	Passed      bool             `json:"passed"`
	Policies    string           `json:"policies"`
	PolicyCount int              `json:"policyCount"`
	CNI         string           `json:"cni"`
	WindowStart time.Time        `json:"windowStart"`
	WindowEnd   time.Time        `json:"windowEnd"`
	Counts      diffcheck.Counts `json:"counts"`
	// Files maps the policies named in the lists below to their files.
	Files          map[string]string `json:"files"`
	Denied         []diffcheck.Flow  `json:"denied"`
	Inexpressible  []diffcheck.Flow  `json:"inexpressible"`
	Guarded        []diffcheck.Flow  `json:"guarded"`
	Uncovered      []diffcheck.Flow  `json:"uncovered"`
	Host           []diffcheck.Flow  `json:"host"`
	DeniedAttempts []diffcheck.Flow  `json:"deniedAttempts"`
	// Staged is present when the tree holds Calico staged policies: they
	// were evaluated as promoted.
	Staged *StagedDoc `json:"staged,omitempty"`
}

// StagedDoc says how a tree's Calico staged policies were evaluated:
// EvaluatedAs is "promoted", the lists what promotion does (kind and key
// of each policy).
type StagedDoc struct {
	EvaluatedAs string `json:"evaluatedAs"`
	calicoeval.Promotion
}

func stagedDoc(v *diffcheck.Verification) *StagedDoc {
	if v == nil || v.Promotion == nil {
		return nil
	}
	return &StagedDoc{EvaluatedAs: "promoted", Promotion: *v.Promotion}
}

// DiffDoc is diff's JSON document (-o json).
type DiffDoc struct {
	Version     int       `json:"flowfenceDiff"`
	Found       bool      `json:"found"`
	WindowStart time.Time `json:"windowStart"`
	WindowEnd   time.Time `json:"windowEnd"`
	Policies    string    `json:"policies,omitempty"`
	Baseline    string    `json:"baseline,omitempty"`
	Totals      Totals    `json:"totals"`
	// Replay counts the outcomes of the replay against the policies
	// (absent without --policies).
	Replay        *diffcheck.Counts         `json:"replay,omitempty"`
	Namespaces    []diffcheck.NamespaceDiff `json:"namespaces"`
	Undocumented  []diffcheck.Flow          `json:"undocumented"`
	StaleRules    []diffcheck.StaleRule     `json:"staleRules"`
	NewEdges      []diffcheck.Flow          `json:"newEdges"`
	VanishedEdges []diffcheck.Flow          `json:"vanishedEdges"`
	Files         map[string]string         `json:"files"`
	// Staged: as VerifyDoc's.
	Staged *StagedDoc `json:"staged,omitempty"`
}

// Totals are the distinct counts of a diff.
type Totals struct {
	Undocumented  int `json:"undocumented"`
	Stale         int `json:"staleRules"`
	NewEdges      int `json:"newEdges"`
	VanishedEdges int `json:"vanishedEdges"`
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// involved returns the files of the policies the flows name.
func involved(all map[string]string, flows ...[]diffcheck.Flow) map[string]string {
	out := map[string]string{}
	for _, fs := range flows {
		for _, f := range fs {
			for _, s := range []*diffcheck.Side{f.Egress, f.Ingress} {
				if s == nil {
					continue
				}
				for _, k := range slices.Concat(s.Policies, s.Matched) {
					if file, ok := all[k]; ok {
						out[k] = file
					}
				}
			}
		}
	}
	return out
}

// NewVerifyDoc builds the JSON document of a verification.
func NewVerifyDoc(v *diffcheck.Verification) *VerifyDoc {
	return &VerifyDoc{
		Version: VerifyVersion, Passed: !v.Failed(), Policies: v.Dir, PolicyCount: v.Policies, CNI: string(v.CNI),
		WindowStart: v.WindowStart.UTC(), WindowEnd: v.WindowEnd.UTC(), Counts: v.Counts,
		Files:  involved(v.Files, v.Denied, v.Guarded),
		Denied: orEmpty(v.Denied), Inexpressible: orEmpty(v.Inexpressible), Guarded: orEmpty(v.Guarded),
		Uncovered: orEmpty(v.Uncovered), Host: orEmpty(v.Host), DeniedAttempts: orEmpty(v.DeniedAttempts),
		Staged: stagedDoc(v),
	}
}

// NewDiffDoc builds the JSON document of a diff.
func NewDiffDoc(d *diffcheck.Diff) *DiffDoc {
	t := d.Totals()
	doc := &DiffDoc{
		Version: DiffVersion, Found: d.Found(), WindowStart: d.WindowStart.UTC(), WindowEnd: d.WindowEnd.UTC(),
		Policies: d.Policies, Baseline: d.Baseline,
		Totals:     Totals{Undocumented: t.Undocumented, Stale: t.Stale, NewEdges: t.NewEdges, VanishedEdges: t.VanishedEdges},
		Namespaces: orEmpty(d.Namespaces), Undocumented: orEmpty(d.Undocumented), StaleRules: orEmpty(d.Stale),
		NewEdges: orEmpty(d.NewEdges), VanishedEdges: orEmpty(d.VanishedEdges), Files: map[string]string{},
	}
	if v := d.Verification; v != nil {
		c := v.Counts
		doc.Replay = &c
		doc.Files = involved(v.Files, d.Undocumented)
		doc.Staged = stagedDoc(v)
	}
	return doc
}

// Marshal renders a document as indented JSON with a trailing newline.
func Marshal(doc any) ([]byte, error) {
	b, err := jsondoc.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render JSON: %w", err)
	}
	return b, nil
}
