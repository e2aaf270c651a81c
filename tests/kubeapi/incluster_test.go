package kubeapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/inventory/dump"
	"github.com/flowfence/flowfence/inventory/kube"
	"github.com/flowfence/flowfence/tests/kubeapi/kubeapi"
)

// The service account files rest.InClusterConfig reads, and the helper
// process that reads the inventory with them.
const (
	saDir            = "secrets/kubernetes.io/serviceaccount" // under /var/run
	inClusterHelper  = "FLOWFENCE_TEST_INCLUSTER_HELPER"
	inClusterOutFile = "FLOWFENCE_TEST_INCLUSTER_OUT"
)

// TestInClusterHelper is not a test: run by inCluster inside a private
// mount namespace, it reads the inventory as a pod would (no kubeconfig,
// the service account's files) and writes the snapshot as JSON, or the
// error, to the file inClusterOutFile names.
func TestInClusterHelper(t *testing.T) {
	if os.Getenv(inClusterHelper) != "1" {
		t.Skip("helper process of TestKubeAPI/InCluster")
	}
	out := os.Getenv(inClusterOutFile)
	snap, err := kube.Read(context.Background(), kube.Options{PageSize: 5})
	var b []byte
	if err != nil {
		b = []byte("error: " + err.Error())
	} else if b, err = json.Marshal(snap); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// mountNamespaces says why a private mount namespace cannot be made here
// ("" when it can): unshare(1) missing, not root, or the kernel refused.
func mountNamespaces() string {
	if _, err := exec.LookPath("unshare"); err != nil {
		return "unshare(1) is not installed (util-linux)"
	}
	if os.Geteuid() != 0 {
		return "a private mount namespace with a bind mount needs root"
	}
	if out, err := exec.Command("unshare", "--mount", "--propagation", "private", "true").CombinedOutput(); err != nil {
		return "unshare --mount refused: " + strings.TrimSpace(string(out))
	}
	return ""
}

// inPod runs argv as a process of a pod running as the service account
// whose token is given: in a private mount namespace, a directory holding
// secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace} is bound
// over /var/run (the host's own stays untouched), KUBERNETES_SERVICE_HOST
// and _PORT name the server, and no kubeconfig is found (HOME is empty,
// KUBECONFIG unset).
func (c *cluster) inPod(t *testing.T, token string, env []string, argv ...string) *exec.Cmd {
	t.Helper()
	run := t.TempDir()
	sa := filepath.Join(run, saDir)
	if err := os.MkdirAll(sa, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"token": []byte(token), "ca.crt": c.srv.CA, "namespace": []byte("flowfence")} {
		if err := os.WriteFile(filepath.Join(sa, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	target, err := filepath.EvalSymlinks("/var/run")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(c.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--mount", "--propagation", "private", "sh", "-c", `mount --bind "$0" "$1" && shift && exec "$@"`, run, target}, argv...)
	cmd := exec.Command("unshare", args...)
	cmd.Dir = c.root
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "KUBECONFIG" && k != "HOME" && !strings.HasPrefix(k, "KUBERNETES_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+t.TempDir(), "KUBERNETES_SERVICE_HOST="+u.Hostname(), "KUBERNETES_SERVICE_PORT="+u.Port())
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// saToken returns a token of ServiceAccount flowfence/name, created when
// missing.
func (c *cluster) saToken(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(c.srv.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	if name != "flowfence" {
		if _, err := cs.CoreV1().ServiceAccounts("flowfence").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	exp := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts("flowfence").CreateToken(ctx, name, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// inCluster: `--inventory kube` without a kubeconfig, run as a pod of the
// ServiceAccount deploy/inventory-clusterrole.yaml binds, reads the same
// snapshot the kubeconfig of that ServiceAccount reads (the source named
// "kube in-cluster at https://…"); a ServiceAccount no ClusterRole binds
// gets the refusal naming itself, the resources and the rule to add, and
// nothing is written.
func (c *cluster) inCluster(t *testing.T) {
	if why := mountNamespaces(); why != "" {
		t.Skip("in-cluster service account files need a private mount namespace: " + why)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "snapshot.json")
	cmd := c.inPod(t, c.saToken(t, "flowfence"), []string{inClusterHelper + "=1", inClusterOutFile + "=" + out},
		self, "-test.run", "^TestInClusterHelper$", "-test.count", "1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if msg, ok := bytes.CutPrefix(raw, []byte("error: ")); ok {
		t.Fatalf("in-cluster read: %s", msg)
	}
	var inPod inventory.Snapshot
	if err := json.Unmarshal(raw, &inPod); err != nil {
		t.Fatal(err)
	}
	viaKubeconfig, err := kube.Read(context.Background(), kube.Options{Kubeconfig: c.reader, PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if want := "kube in-cluster at " + c.srv.URL; !slices.Equal(inPod.Sources, []string{want}) {
		t.Errorf("sources %v, want [%s]", inPod.Sources, want)
	}
	// a JSON round trip, as the helper's snapshot made
	b, err := json.Marshal(viaKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var want inventory.Snapshot
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	want.Sources, inPod.Sources = nil, nil
	if !reflect.DeepEqual(inPod, want) {
		a, _ := json.MarshalIndent(inPod, "", " ")
		t.Errorf("the in-cluster snapshot differs from the kubeconfig's:\nin-cluster: %s\nkubeconfig: %s", a, b)
	}
	if len(inPod.Pods) < 33 || len(inPod.Nodes) != 3 {
		t.Errorf("%d pods, %d nodes: want the sample's 33 and 3", len(inPod.Pods), len(inPod.Nodes))
	}

	// a ServiceAccount without RBAC: the clear refusal, nothing written
	dir := filepath.Join(t.TempDir(), "out")
	cmd = c.inPod(t, c.saToken(t, "no-rbac"), nil, c.bin, "generate", "--from", sampleFlows, "--out", dir, "--inventory", "kube")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("generate as flowfence/no-rbac: %v, want a failure\n%s", err, stderr.String())
	}
	for _, want := range []string{
		"--inventory kube: list namespaces (cluster-scoped), list nodes (cluster-scoped), list pods (all namespaces)",
		`forbidden for system:serviceaccount:flowfence:no-rbac: add "list" on "namespaces", "nodes", "pods"`,
		"to the ClusterRole (deploy/inventory-clusterrole.yaml)",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s written (%v) though the inventory was refused", dir, err)
	}
}

// ciliumEndpoints: with Cilium's CRDs installed and the sample's
// CiliumEndpoints created, `--inventory kube` lists them as the dump of
// them reads (names, addresses, identities), finds the pod without one
// (data/redis-1), and generate's summary and ROLLOUT.md say so and hold
// shop back.
func (c *cluster) ciliumEndpoints(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed (it applies Cilium's CRDs): `make test-kubeapi` installs Debian's kubernetes-client (as root)")
	}
	installCiliumCRDs(t, c.srv)
	ctx := context.Background()
	if _, err := c.srv.Kubectl(ctx, "wait", "--for", "condition=established", "--timeout", "60s", "crd/ciliumendpoints.cilium.io"); err != nil {
		t.Fatal(err)
	}
	items, err := kubeapi.ReadList(filepath.Join(c.root, scenario.CiliumEndpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubeapi.Create(ctx, c.srv.AdminConfig(), items); err != nil {
		t.Fatal(err)
	}
	live, err := kube.Read(ctx, kube.Options{Kubeconfig: c.reader, PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	file, err := dump.Read([]string{filepath.Join(c.root, scenario.CiliumEndpointsFile)}, dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(file.Endpoints) < 20 || !reflect.DeepEqual(live.Endpoints, file.Endpoints) {
		a, _ := json.MarshalIndent(live.Endpoints, "", " ")
		b, _ := json.MarshalIndent(file.Endpoints, "", " ")
		t.Errorf("CiliumEndpoints differ:\nlive: %s\ndump: %s", a, b)
	}
	var unmanaged []string
	for _, p := range live.Unmanaged() {
		unmanaged = append(unmanaged, p.Namespace+"/"+p.Name)
	}
	if !slices.Equal(unmanaged, []string{scenario.UnmanagedPod}) {
		t.Errorf("pods without a CiliumEndpoint %v, want [%s]", unmanaged, scenario.UnmanagedPod)
	}
	out := filepath.Join(t.TempDir(), "out")
	stderr, err := c.run("generate", "--from", sampleFlows, "--out", out, "--inventory", "kube", "--kubeconfig", c.reader)
	if err != nil {
		t.Fatalf("generate --inventory kube: %v\n%s", err, stderr)
	}
	if want := "  unmanaged: 1 running pods without a CiliumEndpoint, first " + scenario.UnmanagedPod; !strings.Contains(stderr, want) {
		t.Errorf("summary lacks %q:\n%s", want, stderr)
	}
	rollout := testsupport.ReadTree(t, out)["ROLLOUT.md"]
	for _, want := range []string{"1 running pod without a CiliumEndpoint", "- " + scenario.UnmanagedPod + "\n", "rollout restart statefulset/redis"} {
		if !strings.Contains(rollout, want) {
			t.Errorf("ROLLOUT.md lacks %q", want)
		}
	}
}
