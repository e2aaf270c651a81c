package inventory

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBuildResolvesOwners: pods belong to their top-level workload;
// ReplicaSets and Jobs fold into the Deployment or CronJob that owns
// them, or stand for it when it is absent; duplicates read twice count
// once.
func TestBuildResolvesOwners(t *testing.T) {
	var b Builder
	b.AddSource("b.json")
	b.AddSource("a.json")
	b.AddWorkload(Workload{Kind: KindDeployment, Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"}, SelectorExact: true})
	b.AddWorkload(Workload{Kind: KindReplicaSet, Namespace: "shop", Name: "web-abc12", Owner: Ref{Kind: KindDeployment, Name: "web"}})
	b.AddWorkload(Workload{Kind: KindReplicaSet, Namespace: "shop", Name: "web-old99", Owner: Ref{Kind: KindDeployment, Name: "web"}})
	b.AddWorkload(Workload{Kind: KindJob, Namespace: "shop", Name: "nightly-29000000", Owner: Ref{Kind: KindCronJob, Name: "nightly"},
		Selector: map[string]string{"batch.kubernetes.io/controller-uid": "u"}, SelectorExact: true})
	b.AddWorkload(Workload{Kind: KindJob, Namespace: "shop", Name: "migrate"})
	pods := []Pod{
		{Namespace: "shop", Name: "web-abc12-x", Labels: map[string]string{"app": "web", "pod-template-hash": "abc12"}, Owner: Ref{Kind: KindReplicaSet, Name: "web-abc12"}},
		{Namespace: "shop", Name: "api-def34-y", Labels: map[string]string{"app": "api", "pod-template-hash": "def34"}, Owner: Ref{Kind: KindReplicaSet, Name: "api-def34"}},
		{Namespace: "shop", Name: "nightly-29000000-z", Labels: map[string]string{"app": "nightly", "job-name": "nightly-29000000"}, Owner: Ref{Kind: KindJob, Name: "nightly-29000000"}},
		{Namespace: "shop", Name: "debug", Labels: map[string]string{"run": "debug"}},
	}
	for _, p := range append(pods, pods[0]) {
		b.AddPod(p)
	}
	s := b.Build()
	var got []string
	for _, w := range s.Workloads {
		got = append(got, w.Kind+"/"+w.Name+"="+strings.Join(w.Pods, ","))
	}
	want := "Deployment/api=api-def34-y Pod/debug=debug Job/migrate= CronJob/nightly=nightly-29000000-z Deployment/web=web-abc12-x"
	if strings.Join(got, " ") != want {
		t.Errorf("workloads\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, w := range s.Workloads {
		if w.Name == "nightly" && (w.Selector != nil || w.SelectorExact) {
			t.Errorf("a CronJob standing for its Job keeps the Job's selector: %+v", w)
		}
		if w.Name == "api" && w.Template["pod-template-hash"] != "" {
			t.Errorf("template from a pod keeps controller labels: %v", w.Template)
		}
	}
	if s.Summary() != "0 namespaces, 5 workloads, 4 pods (snapshot of a.json, b.json)" {
		t.Errorf("summary %q", s.Summary())
	}
}

func TestRuns(t *testing.T) {
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // a Monday
	end := start.Add(24 * time.Hour)
	for _, tc := range []struct {
		w       Workload
		covered bool
		say     string
	}{
		{Workload{Schedule: "0 3 * * *"}, true, "the window covered a scheduled run (2026-11-16 03:00Z) in which it never talked"},
		{Workload{Schedule: "@weekly"}, false, "the window covered no scheduled run: next 2026-11-22 00:00Z"},
		{Workload{Schedule: "0 0 * * *"}, true, "the window covered a scheduled run (2026-11-16 00:00Z)"},
		{Workload{Schedule: "0 3 * * *", TimeZone: "Etc/GMT+5"}, true, "(2026-11-16 08:00Z)"},
		{Workload{Schedule: "30 4 * * 0", LastSchedule: start.Add(-19*time.Hour - 30*time.Minute)}, false, "next 2026-11-22 04:30Z, last run 2026-11-15 04:30Z"},
		{Workload{Schedule: "0 3 * * *", Suspended: true}, true, "suspended"},
		{Workload{Schedule: "0 3 31 2 *"}, false, "its schedule never fires"},
		{Workload{Schedule: "61 * * * *"}, false, "its schedule cannot be read"},
	} {
		tc.w.Kind = KindCronJob
		covered, say := tc.w.Runs(start, end)
		if covered != tc.covered || !strings.Contains(say, tc.say) {
			t.Errorf("%q: covered %v %q, want %v %q", tc.w.Schedule, covered, say, tc.covered, tc.say)
		}
	}
	if c, say := (&Workload{Kind: KindDeployment}).Runs(start, end); c || say != "" {
		t.Errorf("a Deployment has runs: %v %q", c, say)
	}
}

// TestUnmanaged: with CiliumEndpoints, the running pods on the pod network
// without one; without any CiliumEndpoint, nothing (not checked).
func TestUnmanaged(t *testing.T) {
	var b Builder
	for _, p := range []Pod{
		{Namespace: "shop", Name: "web-1", Phase: "Running"},
		{Namespace: "shop", Name: "web-2", Phase: "Running"},
		{Namespace: "shop", Name: "job-1", Phase: "Succeeded"},
		{Namespace: "monitoring", Name: "exporter-1", Phase: "Running", HostNetwork: true},
	} {
		b.AddPod(p)
	}
	if got := b.Build().Unmanaged(); got != nil {
		t.Errorf("no CiliumEndpoint at all: %v, want nil (not checked)", got)
	}
	b.AddEndpoint(CiliumEndpoint{Namespace: "shop", Name: "web-1"})
	b.AddEndpoint(CiliumEndpoint{Namespace: "shop", Name: "web-1"}) // read twice
	s := b.Build()
	var names []string
	for _, p := range s.Unmanaged() {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	if !slices.Equal(names, []string{"shop/web-2"}) || len(s.Endpoints) != 1 {
		t.Errorf("unmanaged %v (endpoints %d), want [shop/web-2] of 1", names, len(s.Endpoints))
	}
}
