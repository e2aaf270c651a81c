package helm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// root is the flowfence repository (this module sits in tests/helm).
var root = filepath.Join("..", "..")

var chart = filepath.Join(root, "deploy", "helm", "flowfence")

var (
	toolsOnce          sync.Once
	helmBin, flowfence string
	toolsErr           error
	toolsSkip          string
)

// tools returns helm (bin/helm, built from this module's helm.sh/helm/v3
// when missing: `make test-helm` builds it first) and a flowfence binary.
func tools(t *testing.T) (helm, ff string) {
	t.Helper()
	toolsOnce.Do(func() {
		helmBin = os.Getenv("HELM")
		if helmBin == "" {
			helmBin, _ = filepath.Abs(filepath.Join(root, "bin", "helm"))
		}
		if _, err := os.Stat(helmBin); err != nil {
			if toolsSkip, toolsErr = build(".", "helm.sh/helm/v3/cmd/helm", helmBin); toolsErr != nil || toolsSkip != "" {
				return
			}
		}
		dir, err := os.MkdirTemp("", "flowfence-helm-test")
		if err != nil {
			toolsErr = err
			return
		}
		flowfence = filepath.Join(dir, "flowfence")
		toolsSkip, toolsErr = build(root, "./cmd/flowfence", flowfence)
	})
	if toolsSkip != "" {
		t.Skip(toolsSkip)
	}
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	return helmBin, flowfence
}

// build runs go build; an unreachable module proxy is a skip, with why.
func build(dir, pkg, out string) (skip string, err error) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	msg, err := cmd.CombinedOutput()
	if err != nil {
		for _, offline := range []string{"dial tcp", "no such host", "connection refused", "i/o timeout", "network is unreachable"} {
			if strings.Contains(string(msg), offline) {
				return fmt.Sprintf("cannot build %s offline (the module proxy is unreachable): %v", pkg, err), nil
			}
		}
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
	}
	return "", nil
}

func run(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}

// the values of the cases, as --set arguments
var (
	tlsInventoryGoldmane = []string{"source.kind=goldmane", "tls.enabled=true", "tls.existingSecret=goldmane-client", "inventory.enabled=true"}
	hubbleMTLS           = []string{"tls.enabled=true", "tls.existingSecret=hubble-relay-client", "tls.serverName=ui.hubble-relay.cilium.io", "serviceMonitor.enabled=true"}
)

func setArgs(sets []string) []string {
	var args []string
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

// TestLint: helm lint --strict passes with the default values and the
// cases below.
func TestLint(t *testing.T) {
	helm, _ := tools(t)
	for _, sets := range [][]string{nil, tlsInventoryGoldmane, hubbleMTLS} {
		t.Run(strings.Join(sets, ","), func(t *testing.T) {
			out, err := run(t, helm, append([]string{"lint", "--strict", chart}, setArgs(sets)...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
				t.Fatalf("helm lint:\n%s", out)
			}
		})
	}
}

// rendered is one helm template run, decoded strictly by kind.
type rendered struct {
	kinds   map[string]int
	deploy  *appsv1.Deployment
	service *corev1.Service
	pvc     *corev1.PersistentVolumeClaim
	sa      *corev1.ServiceAccount
	role    *rbacv1.ClusterRole
	binding *rbacv1.ClusterRoleBinding
	monitor map[string]any
}

// fresh points *field at a new T and returns it, to decode a document into.
func fresh[T any](field **T) *T {
	*field = new(T)
	return *field
}

func render(t *testing.T, helm string, sets []string) *rendered {
	t.Helper()
	out, err := run(t, helm, append([]string{"template", "ff", chart, "--namespace", "flowfence"}, setArgs(sets)...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := &rendered{kinds: map[string]int{}}
	for _, doc := range strings.Split(out, "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("rendered document does not parse: %v\n%s", err, doc)
		}
		if meta.Kind == "" || meta.APIVersion == "" || meta.Metadata.Name == "" {
			t.Fatalf("rendered document without apiVersion, kind or name:\n%s", doc)
		}
		clusterScoped := meta.Kind == "ClusterRole" || meta.Kind == "ClusterRoleBinding"
		if !clusterScoped && meta.Metadata.Namespace != "flowfence" {
			t.Errorf("%s %s: namespace %q, want the release's", meta.Kind, meta.Metadata.Name, meta.Metadata.Namespace)
		}
		r.kinds[meta.Kind]++
		var into any
		switch meta.Kind {
		case "Deployment":
			into = fresh(&r.deploy)
		case "Service":
			into = fresh(&r.service)
		case "PersistentVolumeClaim":
			into = fresh(&r.pvc)
		case "ServiceAccount":
			into = fresh(&r.sa)
		case "ClusterRole":
			into = fresh(&r.role)
		case "ClusterRoleBinding":
			into = fresh(&r.binding)
		case "ServiceMonitor":
			r.monitor = map[string]any{}
			into = &r.monitor
		default:
			t.Fatalf("unexpected kind %s rendered", meta.Kind)
		}
		// strict: a misspelt or misplaced field is an error, not dropped
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Fatalf("%s %s does not decode strictly: %v\n%s", meta.Kind, meta.Metadata.Name, err, doc)
		}
	}
	return r
}

// TestTemplate renders the chart and asserts what an operator installing
// it relies on: one learner (Recreate), non-root uid 65532, read-only root
// filesystem, no capabilities, RuntimeDefault seccomp, requests and
// limits, probes on /healthz and /readyz, the graph on the PVC, TLS from
// the Secret, the inventory's read-only ClusterRole only when enabled; and
// flowfence accepts the arguments.
func TestTemplate(t *testing.T) {
	helm, ff := tools(t)
	cases := []struct {
		name      string
		sets      []string
		from      string
		secret    string
		args      []string // must appear in order
		inventory bool
		monitor   bool
	}{
		{name: "default", from: "hubble://hubble-relay.kube-system.svc:80",
			args: []string{"learn", "--from", "hubble://hubble-relay.kube-system.svc:80", "--follow", "--graph", "/var/lib/flowfence/graph.json", "--listen", ":9090"}},
		{name: "goldmane+tls+inventory", sets: tlsInventoryGoldmane, from: "goldmane://goldmane.calico-system.svc:7443", secret: "goldmane-client", inventory: true,
			args: []string{"--goldmane-ca", "/etc/flowfence/tls/ca.crt", "--goldmane-cert", "/etc/flowfence/tls/tls.crt", "--goldmane-key", "/etc/flowfence/tls/tls.key"}},
		{name: "hubble mTLS+servicemonitor", sets: hubbleMTLS, from: "hubble+tls://hubble-relay.kube-system.svc:80", secret: "hubble-relay-client", monitor: true,
			args: []string{"--tls-ca-cert-files", "/etc/flowfence/tls/ca.crt", "--tls-client-cert-file", "/etc/flowfence/tls/tls.crt", "--tls-client-key-file", "/etc/flowfence/tls/tls.key", "--tls-server-name", "ui.hubble-relay.cilium.io"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, helm, c.sets)
			d := r.deploy
			if d == nil || r.service == nil || r.pvc == nil || r.sa == nil {
				t.Fatalf("missing objects: %v", r.kinds)
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("deployment: replicas %v, strategy %q; want 1 and Recreate (one learner owns the graph)", d.Spec.Replicas, d.Spec.Strategy.Type)
			}
			pod := d.Spec.Template.Spec
			psc := pod.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
				psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod securityContext %+v: want runAsNonRoot, runAsUser 65532, seccomp RuntimeDefault", psc)
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers", len(pod.Containers))
			}
			ctr := pod.Containers[0]
			sc := ctr.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
				len(sc.Capabilities.Add) != 0 || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("container securityContext %+v: want read-only root, no privilege escalation, drop ALL, RuntimeDefault", sc)
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := ctr.Resources.Requests[res]; !ok {
					t.Errorf("no %s request", res)
				}
				if _, ok := ctr.Resources.Limits[res]; !ok {
					t.Errorf("no %s limit", res)
				}
			}
			// Go's soft memory limit is the container's: the live learner
			// collects at GOGC=200 and must collect harder near the limit
			var memLimit *corev1.EnvVar
			for i, e := range ctr.Env {
				if e.Name == "GOMEMLIMIT" {
					memLimit = &ctr.Env[i]
				}
			}
			if memLimit == nil || memLimit.ValueFrom == nil || memLimit.ValueFrom.ResourceFieldRef == nil ||
				memLimit.ValueFrom.ResourceFieldRef.Resource != "limits.memory" || memLimit.ValueFrom.ResourceFieldRef.ContainerName != "" {
				t.Errorf("env %+v: want GOMEMLIMIT from this container's limits.memory", ctr.Env)
			}
			probe := func(name string, p *corev1.Probe, path string) {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
					t.Errorf("%s probe %+v: want GET %s on port http", name, p, path)
				}
			}
			probe("liveness", ctr.LivenessProbe, "/healthz")
			probe("readiness", ctr.ReadinessProbe, "/readyz")
			if len(ctr.Ports) != 1 || ctr.Ports[0].Name != "http" || ctr.Ports[0].ContainerPort != 9090 {
				t.Errorf("ports %+v: want http 9090", ctr.Ports)
			}
			if !containsInOrder(ctr.Args, c.args) || !containsInOrder(ctr.Args, []string{"--from", c.from}) {
				t.Errorf("args %q: want %q and --from %s", ctr.Args, c.args, c.from)
			}
			// flowfence itself accepts every argument the chart passes
			if _, err := run(t, ff, append(slices.Clone(ctr.Args), "--help")...); err != nil {
				t.Errorf("flowfence rejects the chart's arguments: %v", err)
			}
			// the graph on the PVC; nothing else writable but /tmp
			mounts := map[string]corev1.VolumeMount{}
			for _, m := range ctr.VolumeMounts {
				mounts[m.Name] = m
			}
			vols := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				vols[v.Name] = v
			}
			if m, ok := mounts["data"]; !ok || m.MountPath != "/var/lib/flowfence" || m.ReadOnly {
				t.Errorf("data mount %+v: want /var/lib/flowfence, writable", m)
			}
			if v := vols["data"]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != r.pvc.Name {
				t.Errorf("data volume %+v: want the PVC %s", v, r.pvc.Name)
			}
			if _, ok := r.pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
				t.Errorf("PVC without a storage request")
			}
			if c.secret != "" {
				m, ok := mounts["tls"]
				if v := vols["tls"]; !ok || !m.ReadOnly || m.MountPath != "/etc/flowfence/tls" || v.Secret == nil || v.Secret.SecretName != c.secret {
					t.Errorf("tls: mount %+v volume %+v; want Secret %s read-only at /etc/flowfence/tls", m, v, c.secret)
				}
			} else if _, ok := mounts["tls"]; ok {
				t.Errorf("tls mounted without tls.enabled")
			}
			// the Service reaches the pod's http port
			for k, v := range r.service.Spec.Selector {
				if d.Spec.Template.Labels[k] != v {
					t.Errorf("service selector %s=%s does not select the pod (%v)", k, v, d.Spec.Template.Labels)
				}
			}
			if len(r.service.Spec.Ports) != 1 || r.service.Spec.Ports[0].TargetPort.String() != "http" {
				t.Errorf("service ports %+v: want one to http", r.service.Spec.Ports)
			}
			if (r.monitor != nil) != c.monitor {
				t.Errorf("ServiceMonitor rendered: %v, want %v", r.monitor != nil, c.monitor)
			}
			// the inventory: a read-only ClusterRole bound to the pod's account
			automount := pod.AutomountServiceAccountToken != nil && *pod.AutomountServiceAccountToken
			if !c.inventory {
				if r.role != nil || r.binding != nil || automount {
					t.Errorf("inventory off: ClusterRole %v, binding %v, token mounted %v; want none", r.role != nil, r.binding != nil, automount)
				}
				return
			}
			if r.role == nil || r.binding == nil || !automount {
				t.Fatalf("inventory on: ClusterRole %v, binding %v, token mounted %v", r.role != nil, r.binding != nil, automount)
			}
			checkInventoryRole(t, r.role)
			if r.binding.RoleRef.Name != r.role.Name || r.binding.RoleRef.Kind != "ClusterRole" || len(r.binding.Subjects) != 1 ||
				r.binding.Subjects[0].Name != pod.ServiceAccountName || r.binding.Subjects[0].Namespace != "flowfence" || r.sa.Name != pod.ServiceAccountName {
				t.Errorf("binding %+v: want role %s for ServiceAccount %s/flowfence", r.binding, r.role.Name, pod.ServiceAccountName)
			}
		})
	}
}

// checkInventoryRole: list (and get/watch, nothing else) on every resource
// the inventory reads, and no other resource.
func checkInventoryRole(t *testing.T, role *rbacv1.ClusterRole) {
	t.Helper()
	want := map[string]bool{
		"/namespaces": true, "/nodes": true, "/pods": true, "/services": true,
		"apps/deployments": true, "apps/statefulsets": true, "apps/daemonsets": true, "apps/replicasets": true,
		"batch/jobs": true, "batch/cronjobs": true, "discovery.k8s.io/endpointslices": true, "networking.k8s.io/networkpolicies": true,
		"cilium.io/ciliumnetworkpolicies": true, "cilium.io/ciliumclusterwidenetworkpolicies": true, "cilium.io/ciliumendpoints": true,
		"projectcalico.org/networkpolicies": true, "projectcalico.org/globalnetworkpolicies": true,
	}
	got := map[string]bool{}
	for _, rule := range role.Rules {
		for _, v := range rule.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("rule %+v: verb %q is not read-only", rule, v)
			}
		}
		if !slices.Contains(rule.Verbs, "list") {
			t.Errorf("rule %+v: no list", rule)
		}
		if len(rule.NonResourceURLs) > 0 || len(rule.ResourceNames) > 0 {
			t.Errorf("rule %+v: want resources only", rule)
		}
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				k := g + "/" + res
				if !want[k] {
					t.Errorf("ClusterRole grants %s, which the inventory does not read", k)
				}
				got[k] = true
			}
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("ClusterRole lacks %s", k)
		}
	}
}

// TestTemplateRefuses: values that cannot work fail at install time with
// a message naming the value.
func TestTemplateRefuses(t *testing.T) {
	helm, _ := tools(t)
	cases := []struct {
		sets []string
		want string
	}{
		{[]string{"source.kind=goldmane"}, "Goldmane speaks mutual TLS only"},
		{[]string{"tls.enabled=true"}, "set tls.existingSecret"},
		{[]string{"source.kind=calico"}, "kind"},
		{[]string{"port=0"}, "port"},
		{[]string{"learn.checkpointInterval=soon"}, "checkpointInterval"},
		{[]string{"no.such=value"}, "not allowed"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.sets, ","), func(t *testing.T) {
			_, err := run(t, helm, append([]string{"template", "ff", chart}, setArgs(c.sets)...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("helm template %v: %v; want an error naming %q", c.sets, err, c.want)
			}
		})
	}
}

// containsInOrder: want appears in args as a contiguous run.
func containsInOrder(args, want []string) bool {
	for i := 0; i+len(want) <= len(args); i++ {
		if slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}
