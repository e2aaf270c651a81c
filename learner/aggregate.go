package learner

import (
	"regexp"
	"strings"

	"github.com/flowfence/flowfence/record"
)

// aggregatedHash matches what is left of a Deployment pod's generateName
// prefix ("frontend-6b7d9c4f5-*" without "-*"): the name, a dash and the
// pod-template-hash.
var aggregatedHashAlphabet = regexp.MustCompile(`^(.+)-` + k8sSuffix + `{6,10}$`)

// IsAggregatedName reports whether a pod name is a prefix that stands for
// many pods (Calico's `*_name_aggr`, Goldmane's source/dest names: the
// pods' generateName followed by "*").
func IsAggregatedName(pod string) bool { return strings.HasSuffix(pod, "*") }

// aggregated derives the workload of a Calico aggregated pod name (the
// generateName prefix plus "*"), so that "frontend-6b7d9c4f5-*" is the
// same workload "frontend" a Hubble pod "frontend-6b7d9c4f5-x2x7q" is:
// the ReplicaSet hash (confirmed by the pod-template-hash label when the
// record carries labels, else recognised by its alphabet) and a CronJob's
// scheduled-time suffix are stripped; any other prefix (DaemonSet, Job,
// a bare generateName) is the workload name itself.
func (d *deriver) aggregated(ep *record.Endpoint) (kind, name string) {
	prefix := strings.TrimRight(strings.TrimSuffix(ep.Pod, "*"), "-")
	if prefix == "" {
		return KindPod, ""
	}
	l := ep.Labels
	if h := l["pod-template-hash"]; h != "" && strings.HasSuffix(prefix, "-"+h) {
		return KindDeployment, strings.TrimSuffix(prefix, "-"+h)
	}
	if m := d.cronJobRun.FindStringSubmatch(prefix); m != nil {
		return KindCronJob, m[1]
	}
	job := l["batch.kubernetes.io/job-name"]
	if job == "" {
		job = l["job-name"]
	}
	if job != "" && job == prefix {
		return KindJob, job
	}
	if _, ok := l["pod-template-generation"]; ok {
		return KindDaemonSet, prefix
	}
	if _, ok := l["pod-template-hash"]; !ok {
		if m := aggregatedHashAlphabet.FindStringSubmatch(prefix); m != nil {
			return KindDeployment, m[1]
		}
	}
	return "", prefix
}
