// Package examples_test checks the deployment examples under examples/: the
// CronJob manifest decodes strictly into the Kubernetes API types, and its
// objects fit together (volumes, claim, the learner's /graph URL, the
// flowfence arguments); the GitHub workflow and action.yml parse and name
// what the action script reads.
package examples_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// documents splits a multi-document YAML file.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// strict decodes one document into v, refusing unknown fields.
func strict(t *testing.T, doc []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%T: %v", v, err)
	}
}

// checkPod: the pod spec of the seed Job and of the CronJob: the graph is
// fetched from the learner's Service into the shared emptyDir, flowfence
// reads it and writes to the claim; non-root, read-only root filesystems,
// no capabilities.
func checkPod(t *testing.T, spec corev1.PodSpec, claim string, wantArgs []string) {
	t.Helper()
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	if v := vols["data"]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claim {
		t.Errorf("volume data: %+v, want the claim %s", v, claim)
	}
	if v := vols["work"]; v.EmptyDir == nil {
		t.Errorf("volume work: %+v, want an emptyDir", v)
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever || spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
		t.Errorf("pod: restartPolicy %q, securityContext %+v", spec.RestartPolicy, spec.SecurityContext)
	}
	if len(spec.InitContainers) != 1 || len(spec.Containers) != 1 {
		t.Fatalf("%d init containers, %d containers; want 1 and 1", len(spec.InitContainers), len(spec.Containers))
	}
	fetch, main := spec.InitContainers[0], spec.Containers[0]
	if !slices.Contains(fetch.Args, "http://flowfence.flowfence.svc:9090/graph") || !slices.Contains(fetch.Args, "/work/graph.json") || !slices.Contains(fetch.Args, "--fail") {
		t.Errorf("init container fetches %q", fetch.Args)
	}
	if !slices.Equal(main.Args, wantArgs) {
		t.Errorf("flowfence args %q\nwant %q", main.Args, wantArgs)
	}
	for _, c := range []corev1.Container{fetch, main} {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("container %s: securityContext %+v", c.Name, sc)
		}
		for _, m := range c.VolumeMounts {
			if _, ok := vols[m.Name]; !ok {
				t.Errorf("container %s mounts %s, which the pod does not declare", c.Name, m.Name)
			}
		}
	}
}

func TestCronJobExample(t *testing.T) {
	docs := documents(t, "cronjob/flowfence-diff.yaml")
	if len(docs) != 3 {
		t.Fatalf("%d documents, want the claim, the seed Job and the CronJob", len(docs))
	}
	var pvc corev1.PersistentVolumeClaim
	var seed batchv1.Job
	var cj batchv1.CronJob
	strict(t, docs[0], &pvc)
	strict(t, docs[1], &seed)
	strict(t, docs[2], &cj)
	for _, c := range []struct{ kind, apiVersion, wantKind, wantAPI, ns string }{
		{pvc.Kind, pvc.APIVersion, "PersistentVolumeClaim", "v1", pvc.Namespace},
		{seed.Kind, seed.APIVersion, "Job", "batch/v1", seed.Namespace},
		{cj.Kind, cj.APIVersion, "CronJob", "batch/v1", cj.Namespace},
	} {
		if c.kind != c.wantKind || c.apiVersion != c.wantAPI || c.ns != "flowfence" {
			t.Errorf("%s %s in %q, want %s %s in flowfence", c.apiVersion, c.kind, c.ns, c.wantAPI, c.wantKind)
		}
	}
	if cj.Spec.Schedule == "" || len(strings.Fields(cj.Spec.Schedule)) != 5 || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("schedule %q, concurrency %q", cj.Spec.Schedule, cj.Spec.ConcurrencyPolicy)
	}
	checkPod(t, seed.Spec.Template.Spec, pvc.Name, []string{"generate", "--from", "/work/graph.json", "--out", "/data/policies"})
	job := cj.Spec.JobTemplate.Spec
	checkPod(t, job.Template.Spec, pvc.Name, []string{"diff", "--policies", "/data/policies", "--from", "/work/graph.json", "--update", "--report", "/data/flowfence-report.md"})
	// exit status 3 (new flows) fails the Job at once: a retry finds the same flows
	pfp := job.PodFailurePolicy
	if pfp == nil || len(pfp.Rules) != 1 || pfp.Rules[0].Action != batchv1.PodFailurePolicyActionFailJob ||
		pfp.Rules[0].OnExitCodes == nil || !slices.Equal(pfp.Rules[0].OnExitCodes.Values, []int32{3}) ||
		pfp.Rules[0].OnExitCodes.ContainerName == nil || *pfp.Rules[0].OnExitCodes.ContainerName != "diff" {
		t.Errorf("podFailurePolicy %+v", pfp)
	}
}

// workflow is the part of a GitHub workflow the test reads.
type workflow struct {
	// On is the "on" key, which YAML 1.1 reads as the boolean true
	On   map[string]any `json:"true"`
	Jobs map[string]struct {
		Steps []struct {
			Uses string            `json:"uses"`
			With map[string]string `json:"with"`
		} `json:"steps"`
	} `json:"jobs"`
}

// action is the part of action.yml the test reads.
type action struct {
	Inputs map[string]struct {
		Required bool   `json:"required"`
		Default  string `json:"default"`
	} `json:"inputs"`
	Runs struct {
		Using string `json:"using"`
		Steps []struct {
			Run string            `json:"run"`
			Env map[string]string `json:"env"`
		} `json:"steps"`
	} `json:"runs"`
}

// TestGitHubExample: the workflow runs on a schedule and by hand and uses
// the action with inputs action.yml declares; the action is composite and
// its script step gets every input it passes through the environment (no
// input is pasted into the script's text).
func TestGitHubExample(t *testing.T) {
	var w workflow
	b, err := os.ReadFile("github/flowfence-diff.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.On["schedule"]; !ok {
		t.Error("the workflow has no schedule")
	}
	if _, ok := w.On["workflow_dispatch"]; !ok {
		t.Error("the workflow cannot be run by hand (workflow_dispatch)")
	}
	var a action
	b, err = os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("action runs %q, want composite", a.Runs.Using)
	}
	used := false
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if !strings.HasPrefix(s.Uses, "flowfence/flowfence@") {
				continue
			}
			used = true
			for in := range s.With {
				if _, ok := a.Inputs[in]; !ok {
					t.Errorf("the workflow passes input %s, which action.yml does not declare", in)
				}
			}
			for name, in := range a.Inputs {
				if _, ok := s.With[name]; in.Required && !ok {
					t.Errorf("the workflow does not pass the required input %s", name)
				}
			}
		}
	}
	if !used {
		t.Error("the workflow does not use the flowfence action")
	}
	script := a.Runs.Steps[len(a.Runs.Steps)-1]
	if !strings.Contains(script.Run, "hack/action/flowfence-diff.sh") {
		t.Fatalf("the last step does not run the script:\n%s", script.Run)
	}
	for _, s := range a.Runs.Steps {
		if strings.Contains(s.Run, "${{") {
			t.Errorf("a run step pastes an expression into the script (pass it through env):\n%s", s.Run)
		}
	}
	passed := map[string]bool{}
	for _, v := range script.Env {
		if strings.HasPrefix(v, "${{ inputs.") {
			passed[strings.TrimSuffix(strings.TrimPrefix(v, "${{ inputs."), " }}")] = true
		}
	}
	for name := range a.Inputs {
		if !passed[name] && name != "go-version" && name != "flowfence-version" {
			t.Errorf("input %s does not reach the script", name)
		}
	}
}
