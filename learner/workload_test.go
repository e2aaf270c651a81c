package learner

import (
	"testing"

	"github.com/flowfence/flowfence/record"
)

func TestWorkload(t *testing.T) {
	tests := []struct {
		name     string
		ep       record.Endpoint
		wantKind string
		wantName string
	}{
		{
			name:     "deployment pod with pod-template-hash",
			ep:       record.Endpoint{Pod: "web-7d9f8c6b5-x2x7q", Labels: map[string]string{"app": "web", "pod-template-hash": "7d9f8c6b5"}},
			wantKind: KindDeployment, wantName: "web",
		},
		{
			name:     "deployment pod without labels",
			ep:       record.Endpoint{Pod: "web-7d9f8c6b5-x2x7q"},
			wantKind: KindDeployment, wantName: "web",
		},
		{
			name:     "deployment name with digits and dashes, hash label",
			ep:       record.Endpoint{Pod: "web-v2-7d9f8c6b5-x2x7q", Labels: map[string]string{"pod-template-hash": "7d9f8c6b5"}},
			wantKind: KindDeployment, wantName: "web-v2",
		},
		{
			name:     "deployment name with digits and dashes, no labels",
			ep:       record.Endpoint{Pod: "web-v2-7d9f8c6b5-x2x7q"},
			wantKind: KindDeployment, wantName: "web-v2",
		},
		{
			name:     "deployment name ending in a number, no labels",
			ep:       record.Endpoint{Pod: "api-2024-5b8c7d9f4-zq2wx"},
			wantKind: KindDeployment, wantName: "api-2024",
		},
		{
			name:     "statefulset pod with pod-name label",
			ep:       record.Endpoint{Pod: "kafka-broker-2", Labels: map[string]string{"statefulset.kubernetes.io/pod-name": "kafka-broker-2"}},
			wantKind: KindStatefulSet, wantName: "kafka-broker",
		},
		{
			name:     "statefulset pod by name only",
			ep:       record.Endpoint{Pod: "redis-v6-0"},
			wantKind: KindStatefulSet, wantName: "redis-v6",
		},
		{
			name:     "daemonset pod with pod-template-generation",
			ep:       record.Endpoint{Pod: "node-exporter-x2x7q", Labels: map[string]string{"pod-template-generation": "3", "controller-revision-hash": "6d4b8f9c5"}},
			wantKind: KindDaemonSet, wantName: "node-exporter",
		},
		{
			name:     "job pod with job-name",
			ep:       record.Endpoint{Pod: "db-migrate-x2x7q", Labels: map[string]string{"job-name": "db-migrate"}},
			wantKind: KindJob, wantName: "db-migrate",
		},
		{
			name:     "job pod with batch.kubernetes.io/job-name",
			ep:       record.Endpoint{Pod: "db-migrate-x2x7q", Labels: map[string]string{"batch.kubernetes.io/job-name": "db-migrate"}},
			wantKind: KindJob, wantName: "db-migrate",
		},
		{
			// a six-letter word before the suffix is not a ReplicaSet hash
			// (hashes never contain vowels): not Deployment "db"
			name:     "job pod without labels keeps its whole name",
			ep:       record.Endpoint{Pod: "db-migrate-x2x7q"},
			wantKind: "", wantName: "db-migrate",
		},
		{
			name:     "daemonset pod without labels keeps its whole name",
			ep:       record.Endpoint{Pod: "my-frontend-x2x7q"},
			wantKind: "", wantName: "my-frontend",
		},
		{
			name:     "cronjob run by job-name label",
			ep:       record.Endpoint{Pod: "report-29000000-x2x7q", Labels: map[string]string{"job-name": "report-29000000"}},
			wantKind: KindCronJob, wantName: "report",
		},
		{
			name:     "another run of the same cronjob",
			ep:       record.Endpoint{Pod: "report-29000060-b4c5d", Labels: map[string]string{"batch.kubernetes.io/job-name": "report-29000060"}},
			wantKind: KindCronJob, wantName: "report",
		},
		{
			name:     "cronjob run by pod name only",
			ep:       record.Endpoint{Pod: "nightly-backup-29000000-x2x7q"},
			wantKind: KindCronJob, wantName: "nightly-backup",
		},
		{
			name:     "hubble workloads: deployment",
			ep:       record.Endpoint{Pod: "web-7d9f8c6b5-x2x7q", WorkloadKind: KindDeployment, WorkloadName: "web"},
			wantKind: KindDeployment, wantName: "web",
		},
		{
			name:     "hubble workloads: job owned by a cronjob",
			ep:       record.Endpoint{Pod: "report-29000000-x2x7q", WorkloadKind: KindJob, WorkloadName: "report-29000000"},
			wantKind: KindCronJob, wantName: "report",
		},
		{
			name:     "hubble workloads: plain job",
			ep:       record.Endpoint{Pod: "db-migrate-x2x7q", WorkloadKind: KindJob, WorkloadName: "db-migrate"},
			wantKind: KindJob, wantName: "db-migrate",
		},
		{
			name: "hubble workloads: replicaset with its hash is the deployment",
			ep: record.Endpoint{Pod: "web-v2-7d9f8c6b5-x2x7q", WorkloadKind: KindReplicaSet, WorkloadName: "web-v2-7d9f8c6b5",
				Labels: map[string]string{"pod-template-hash": "7d9f8c6b5"}},
			wantKind: KindDeployment, wantName: "web-v2",
		},
		{
			name:     "hubble workloads win over the pod name",
			ep:       record.Endpoint{Pod: "whatever-0", WorkloadKind: KindStatefulSet, WorkloadName: "etcd"},
			wantKind: KindStatefulSet, wantName: "etcd",
		},
		{
			name:     "bare pod",
			ep:       record.Endpoint{Pod: "debug"},
			wantKind: KindPod, wantName: "debug",
		},
		{
			name:     "bare pod with dashes",
			ep:       record.Endpoint{Pod: "my-debug-shell"},
			wantKind: KindPod, wantName: "my-debug-shell",
		},
		{
			name:     "no pod name",
			ep:       record.Endpoint{},
			wantKind: KindPod, wantName: "",
		},
	}
	d := newDeriver()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ep.Namespace = "shop"
			kind, name := d.Workload(&tt.ep)
			if kind != tt.wantKind || name != tt.wantName {
				t.Errorf("Workload(%q) = (%q, %q), want (%q, %q)", tt.ep.Pod, kind, name, tt.wantKind, tt.wantName)
			}
		})
	}
}

func TestIsPodSpecificLabel(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"pod-template-hash", true},
		{"controller-revision-hash", true},
		{"statefulset.kubernetes.io/pod-name", true},
		{"apps.kubernetes.io/pod-index", true},
		{"pod-template-generation", true},
		{"job-name", true},
		{"controller-uid", true},
		{"batch.kubernetes.io/job-name", true},
		{"batch.kubernetes.io/controller-uid", true},
		{"topology.kubernetes.io/zone", true},
		{"topology.kubernetes.io/region", true},
		{"app", false},
		{"app.kubernetes.io/name", false},
		{"version", false},
	}
	for _, tt := range tests {
		if got := IsPodSpecificLabel(tt.key); got != tt.want {
			t.Errorf("IsPodSpecificLabel(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestBetterKind(t *testing.T) {
	tests := []struct {
		cur, cand string
		want      bool
	}{
		{"", KindDeployment, true},
		{KindDeployment, "", false},
		{KindPod, KindDeployment, true},
		{KindDeployment, KindPod, false},
		{KindJob, KindCronJob, true},
		{KindCronJob, KindJob, false},
		{KindJob, KindJob, false},
	}
	for _, tt := range tests {
		if got := betterKind(tt.cur, tt.cand); got != tt.want {
			t.Errorf("betterKind(%q, %q) = %v, want %v", tt.cur, tt.cand, got, tt.want)
		}
	}
}
