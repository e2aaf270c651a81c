package diffcheck_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/diffcheck"
	"github.com/flowfence/flowfence/diffcheck/diffchecktest"
	"github.com/flowfence/flowfence/learner"
	caliout "github.com/flowfence/flowfence/output/calico"
	"github.com/flowfence/flowfence/pipeline"
	"github.com/flowfence/flowfence/synth"
)

// stagedTrees writes the trees generate writes for g: k8s, calico, and
// calico --staged (every policy a StagedNetworkPolicy or
// StagedGlobalNetworkPolicy, stagedAction Set).
func stagedTrees(t *testing.T, g *learner.Graph) (k8s, enforced, staged string) {
	t.Helper()
	_, kt, err := pipeline.Render(g, synth.Options{}, "k8s")
	if err != nil {
		t.Fatal(err)
	}
	_, et, err := pipeline.RenderWith(g, synth.Options{}, caliout.Formatter{})
	if err != nil {
		t.Fatal(err)
	}
	_, st, err := pipeline.RenderWith(g, synth.Options{}, caliout.Formatter{Staged: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range st.Paths() {
		n += strings.Count(string(st[p]), "kind: Staged")
	}
	if n == 0 {
		t.Fatal("the --staged tree holds no staged policy")
	}
	return writeTree(t, kt, nil), writeTree(t, et, nil), writeTree(t, st, nil)
}

// outcomes is every non-allowed edge of a verification by outcome: with
// the edge count, every edge's verdict.
func outcomes(v *diffcheck.Verification) map[string][]string {
	return map[string][]string{
		"denied": flowKeys(v.Denied), "uncovered": flowKeys(v.Uncovered), "guarded": flowKeys(v.Guarded),
		"host": flowKeys(v.Host), "inexpressible": flowKeys(v.Inexpressible),
	}
}

// TestStagedTreeIsJudgedAsPromoted: verify of the calico --staged tree of
// the sample gives every edge the verdict the enforced calico tree gives
// it (and, ICMP aside, the k8s tree), and says it evaluated the staged
// policies as promoted; a staged tree missing a rule denies the flow the
// rule admitted (a tree of staged policies read as enforcing nothing
// would pass it).
func TestStagedTreeIsJudgedAsPromoted(t *testing.T) {
	g := learn(t, zeroTime)
	kDir, eDir, sDir := stagedTrees(t, g)
	k, e, s := diffchecktest.Checker(t, kDir, synth.Options{}).Verify(g), diffchecktest.Checker(t, eDir, synth.Options{}).Verify(g), diffchecktest.Checker(t, sDir, synth.Options{}).Verify(g)
	if !reflect.DeepEqual(outcomes(s), outcomes(e)) || s.Counts != e.Counts {
		t.Errorf("staged tree:\n %+v %v\nenforced tree:\n %+v %v", s.Counts, outcomes(s), e.Counts, outcomes(e))
	}
	if s.Policies != e.Policies {
		t.Errorf("staged tree evaluates %d objects, enforced %d", s.Policies, e.Policies)
	}
	for _, o := range []string{"denied", "uncovered", "guarded", "host"} {
		if got, want := outcomes(s)[o], outcomes(k)[o]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: staged tree %v, k8s tree %v", o, got, want)
		}
	}
	if s.Counts.Allowed == 0 || s.Counts.Guarded == 0 {
		t.Errorf("the sample should exercise admitted and guarded flows: %+v", s.Counts)
	}
	if e.Promotion != nil {
		t.Errorf("enforced tree: promotion %+v", e.Promotion)
	}
	if s.Promotion == nil || len(s.Promotion.Set) != e.Policies-countTiers(t, eDir) || len(s.Promotion.Replaced)+len(s.Promotion.Deleted) != 0 {
		t.Errorf("staged tree: promotion %+v (the enforced tree has %d objects)", s.Promotion, e.Policies)
	}

	for _, dir := range []string{eDir, sDir} {
		remove(t, filepath.Join(dir, "shop", "cart-ingress.yaml"))
		v := diffchecktest.Checker(t, dir, synth.Options{}).Verify(g)
		if got := flowKeys(v.Denied); !reflect.DeepEqual(got, []string{"shop/frontend -> shop/cart TCP/8080"}) || !v.Failed() {
			t.Errorf("%s without shop/cart-ingress: denied %v", filepath.Base(filepath.Dir(dir)), got)
		}
	}
}

func countTiers(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		n += strings.Count(string(b), "kind: Tier")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDiffStagedTree: diff against the staged tree reports the undocumented
// flows and stale rules diff reports against the enforced tree (neither
// set empty), not every flow as in a namespace without policy.
func TestDiffStagedTree(t *testing.T) {
	full, early := learn(t, zeroTime), learn(t, cut10)
	for _, c := range []struct {
		name          string
		tree, observe *learner.Graph
	}{
		{"tree of the early window, every flow observed: undocumented", early, full},
		{"tree of every flow, the early window observed: stale", full, early},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, eDir, sDir := stagedTrees(t, c.tree)
			var diffs []*diffcheck.Diff
			for _, dir := range []string{eDir, sDir} {
				d, err := diffcheck.Compare(c.observe, diffchecktest.Checker(t, dir, synth.Options{}), nil, "", synth.Options{})
				if err != nil {
					t.Fatal(err)
				}
				diffs = append(diffs, d)
			}
			e, s := diffs[0], diffs[1]
			if len(e.Undocumented)+len(e.Stale) == 0 {
				t.Fatal("the enforced tree's diff finds nothing: the case cannot tell")
			}
			if !reflect.DeepEqual(flowKeys(s.Undocumented), flowKeys(e.Undocumented)) {
				t.Errorf("undocumented:\n staged   %v\n enforced %v", flowKeys(s.Undocumented), flowKeys(e.Undocumented))
			}
			if !reflect.DeepEqual(s.Stale, e.Stale) {
				t.Errorf("stale:\n staged   %+v\n enforced %+v", s.Stale, e.Stale)
			}
			if !reflect.DeepEqual(s.Namespaces, e.Namespaces) {
				t.Errorf("namespaces:\n staged   %+v\n enforced %+v", s.Namespaces, e.Namespaces)
			}
			if s.Verification.Counts.Uncovered != e.Verification.Counts.Uncovered {
				t.Errorf("uncovered: staged %d, enforced %d", s.Verification.Counts.Uncovered, e.Verification.Counts.Uncovered)
			}
		})
	}
}
