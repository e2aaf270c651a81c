package learner

import (
	"regexp"
	"strings"

	"github.com/flowfence/flowfence/record"
)

// Workload kinds as the learner names them.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindDaemonSet   = "DaemonSet"
	KindJob         = "Job"
	KindCronJob     = "CronJob"
	KindReplicaSet  = "ReplicaSet"
	KindPod         = "Pod"
)

// k8sSuffix is the alphabet of generated name suffixes
// (k8s.io/apimachinery/pkg/util/rand).
const k8sSuffix = `[bcdfghjklmnpqrstvwxz2456789]`

// workloadPatterns derive a workload from a bare pod name, most specific first.
type workloadPattern struct {
	re   *regexp.Regexp
	kind string
}

func workloadPatterns() []workloadPattern {
	return []workloadPattern{
		{regexp.MustCompile(`^(.+)-\d{8,}-` + k8sSuffix + `{5}$`), KindCronJob},
		// pod-template-hash is rand.SafeEncodeString of a 32-bit hash: the
		// same alphabet, never a vowel, so "my-frontend-x2x7q" is not
		// mistaken for Deployment "my".
		{regexp.MustCompile(`^(.+)-` + k8sSuffix + `{6,10}-` + k8sSuffix + `{5}$`), KindDeployment},
		{regexp.MustCompile(`^(.+)-\d+$`), KindStatefulSet},
		{regexp.MustCompile(`^(.+)-` + k8sSuffix + `{5}$`), ""},
	}
}

// deriver maps endpoints to workloads. It holds compiled patterns only.
type deriver struct {
	patterns   []workloadPattern
	cronJobRun *regexp.Regexp
}

func newDeriver() *deriver {
	return &deriver{patterns: workloadPatterns(), cronJobRun: regexp.MustCompile(`^(.+)-\d{8,}$`)}
}

// Workload returns the workload kind and name of a pod endpoint: from the
// CNI's owner metadata when present, else from well-known controller labels,
// else by stripping the ReplicaSet/StatefulSet/Job suffix from the pod name.
// Every run of a CronJob is one workload.
func (d *deriver) Workload(ep *record.Endpoint) (kind, name string) {
	if ep.WorkloadName != "" {
		kind, name = ep.WorkloadKind, ep.WorkloadName
		if kind == KindJob {
			if m := d.cronJobRun.FindStringSubmatch(name); m != nil {
				return KindCronJob, m[1]
			}
		}
		if kind == KindReplicaSet {
			if h := ep.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(name, "-"+h) {
				return KindDeployment, strings.TrimSuffix(name, "-"+h)
			}
		}
		return kind, name
	}
	pod := ep.Pod
	if pod == "" {
		return KindPod, ""
	}
	if IsAggregatedName(pod) {
		return d.aggregated(ep)
	}
	l := ep.Labels
	if h := l["pod-template-hash"]; h != "" {
		if i := strings.LastIndex(pod, "-"+h+"-"); i > 0 {
			return KindDeployment, pod[:i]
		}
	}
	if _, ok := l["statefulset.kubernetes.io/pod-name"]; ok {
		if i := strings.LastIndexByte(pod, '-'); i > 0 {
			return KindStatefulSet, pod[:i]
		}
	}
	job := l["batch.kubernetes.io/job-name"]
	if job == "" {
		job = l["job-name"]
	}
	if job != "" {
		if m := d.cronJobRun.FindStringSubmatch(job); m != nil {
			return KindCronJob, m[1]
		}
		return KindJob, job
	}
	if _, ok := l["pod-template-generation"]; ok {
		if i := strings.LastIndexByte(pod, '-'); i > 0 {
			return KindDaemonSet, pod[:i]
		}
	}
	for _, p := range d.patterns {
		if m := p.re.FindStringSubmatch(pod); m != nil {
			return p.kind, m[1]
		}
	}
	return KindPod, pod
}

// IsPodSpecificLabel reports label keys that differ between pods of one
// workload or between rollouts, and so are never used to select: they are
// not even stored in the graph. The topology.kubernetes.io labels are the
// node's, copied onto each pod when it is bound (the API server's
// PodTopologyLabels admission): a pod rescheduled to another zone changes
// them.
func IsPodSpecificLabel(key string) bool {
	switch key {
	case "pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
		"pod-template-generation", "job-name", "controller-uid", "apps.kubernetes.io/pod-index":
		return true
	}
	return strings.HasPrefix(key, "batch.kubernetes.io/") || strings.HasPrefix(key, "topology.kubernetes.io/")
}

// betterKind reports whether workload kind cand should replace cur when two
// observations of one workload disagree: a known kind beats none, a
// controller beats a bare Pod, and between controllers the smaller name
// wins. It is a total order, so choosing by it keeps Merge associative and
// commutative, and the learner uses the same rule as Merge.
func betterKind(cur, cand string) bool {
	switch {
	case cand == "" || cand == cur:
		return false
	case cur == "":
		return true
	case cur == KindPod:
		return true
	case cand == KindPod:
		return false
	}
	return cand < cur
}
