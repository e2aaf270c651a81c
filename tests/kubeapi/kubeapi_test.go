package kubeapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/internal/scenario"
	"github.com/flowfence/flowfence/internal/testsupport"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/inventory/dump"
	"github.com/flowfence/flowfence/inventory/kube"
	"github.com/flowfence/flowfence/tests/kubeapi/kubeapi"
)

// cluster is one API server holding the sample's inventory, and the
// flowfence binary.
type cluster struct {
	srv       *kubeapi.Server
	root, bin string
	// reader is a kubeconfig of the ServiceAccount that
	// deploy/inventory-clusterrole.yaml binds to its ClusterRole.
	reader string
	tokens map[string]string
}

// TestKubeAPI: flowfence against a real kube-apiserver (one server for
// the subtests: it takes about 20 s to start).
func TestKubeAPI(t *testing.T) {
	tokens := map[string]string{"restricted": kubeapi.RandomToken(), "stranger": kubeapi.RandomToken()}
	var users []kubeapi.User
	for name, tok := range tokens {
		users = append(users, kubeapi.User{Name: name, Token: tok})
	}
	start := time.Now()
	srv := kubeapi.Start(t, kubeapi.Options{Users: users})
	t.Logf("kube-apiserver ready in %s at %s", time.Since(start).Round(100*time.Millisecond), srv.URL)
	root, err := kubeapi.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{srv: srv, root: root, bin: filepath.Join(t.TempDir(), "flowfence"), tokens: tokens}
	build := exec.Command("go", "build", "-o", c.bin, "./cmd/flowfence")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build flowfence: %v\n%s", err, out)
	}
	ctx := context.Background()
	items, err := kubeapi.ReadList(filepath.Join(root, scenario.InventoryFile))
	if err != nil {
		t.Fatal(err)
	}
	n, err := kubeapi.Create(ctx, srv.AdminConfig(), items)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("created the sample inventory: %d objects", n)
	// the ClusterRole, its ServiceAccount and binding, as a user applies them
	deploy, err := kubeapi.ReadYAML(filepath.Join(root, kube.ClusterRoleFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubeapi.Create(ctx, srv.AdminConfig(), deploy); err != nil {
		t.Fatalf("%s: %v", kube.ClusterRoleFile, err)
	}
	cs, err := kubernetes.NewForConfig(srv.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	exp := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts("flowfence").CreateToken(ctx, "flowfence", &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.reader = filepath.Join(t.TempDir(), "reader.kubeconfig")
	if err := srv.WriteKubeconfig(c.reader, "flowfence-reader", tr.Status.Token); err != nil {
		t.Fatal(err)
	}
	t.Run("SnapshotEqualsTheDump", c.snapshotEqualsTheDump)
	t.Run("Generate", c.generate)
	t.Run("RBAC", c.rbac)
	t.Run("InCluster", c.inCluster)
	t.Run("DryRun", c.dryRun)
	t.Run("HelmChart", c.helmChart)
	t.Run("CiliumEndpoints", c.ciliumEndpoints)
}

// snapshotEqualsTheDump: the live source, paging 5 objects at a time as
// the ClusterRole's ServiceAccount, reads the sample cluster as the
// kubectl dump of it reads: same namespaces, nodes, pods, workloads,
// Services and policies (the server's own namespaces and its kubernetes
// Service aside).
func (c *cluster) snapshotEqualsTheDump(t *testing.T) {
	live, err := kube.Read(context.Background(), kube.Options{Kubeconfig: c.reader, PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	file, err := dump.Read([]string{filepath.Join(c.root, scenario.InventoryFile)}, dump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "kube context flowfence-reader at " + c.srv.URL; !slices.Equal(live.Sources, []string{want}) {
		t.Errorf("sources %v, want [%s]", live.Sources, want)
	}
	ns := map[string]bool{}
	for _, n := range file.Namespaces {
		ns[n.Name] = true
	}
	live.Namespaces = slices.DeleteFunc(live.Namespaces, func(n inventory.Namespace) bool { return !ns[n.Name] })
	live.Services = slices.DeleteFunc(live.Services, func(s inventory.Service) bool { return s.Namespace == "default" && s.Name == "kubernetes" })
	// the server's PodTopologyLabels admission copies the node's
	// topology.kubernetes.io labels onto a pod when it is bound: a real
	// cluster's pods carry them, the kubectl dump was taken without
	for i := range live.Pods {
		maps.DeleteFunc(live.Pods[i].Labels, func(k, _ string) bool { return strings.HasPrefix(k, "topology.kubernetes.io/") })
	}
	for _, cmp := range []struct {
		what       string
		live, file any
	}{
		{"namespaces", live.Namespaces, file.Namespaces},
		{"nodes", live.Nodes, file.Nodes},
		{"pods", live.Pods, file.Pods},
		{"workloads", live.Workloads, file.Workloads},
		{"services", live.Services, file.Services},
		{"policies", live.Policies, file.Policies},
	} {
		if !reflect.DeepEqual(cmp.live, cmp.file) {
			a, _ := json.MarshalIndent(cmp.live, "", " ")
			b, _ := json.MarshalIndent(cmp.file, "", " ")
			t.Errorf("%s differ:\nlive: %s\ndump: %s", cmp.what, a, b)
		}
	}
	if len(live.Pods) != 33 || len(live.Workloads) != 18 {
		t.Errorf("%d pods, %d workloads: the sample has 33 and 18", len(live.Pods), len(live.Workloads))
	}
	t.Logf("live snapshot: %s", live.Summary())
}

// run runs the flowfence binary; stderr is returned with the error.
func (c *cluster) run(args ...string) (string, error) {
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "KUBECONFIG=/nonexistent/kubeconfig")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

const sampleFlows = "testdata/flows/*.json*"

// generate: `generate --inventory kube` against the server writes the
// tree `--inventory sample.json` writes (the same policies and the same
// findings: shop's silent CronJob and Deployment, payments' disproved
// selector), and says where its inventory came from.
func (c *cluster) generate(t *testing.T) {
	dir := t.TempDir()
	live, file := filepath.Join(dir, "live"), filepath.Join(dir, "file")
	stderr, err := c.run("generate", "--from", sampleFlows, "--out", live, "--inventory", "kube", "--kubeconfig", c.reader)
	if err != nil {
		t.Fatalf("generate --inventory kube: %v\n%s", err, stderr)
	}
	fileErr, err := c.run("generate", "--from", sampleFlows, "--out", file, "--inventory", scenario.InventoryFile)
	if err != nil {
		t.Fatalf("generate --inventory %s: %v\n%s", scenario.InventoryFile, err, fileErr)
	}
	t.Logf("run summary:\n%s", stderr)
	for _, want := range []string{
		// the sample's 6 namespaces and the server's default, kube-public,
		// kube-node-lease and flowfence (deploy/)
		"  inventory: 10 namespaces, 18 workloads, 33 pods (snapshot of kube context flowfence-reader at " + c.srv.URL + ")\n",
		"! namespace shop has silent workloads: 2 workloads of the inventory never observed in the window, first CronJob cleanup",
		"! namespace payments is blocked: 1 selector the inventory does not prove exact, first api",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	a, b := testsupport.ReadTree(t, live), testsupport.ReadTree(t, file)
	if len(a) < 20 {
		t.Fatalf("only %d files written", len(a))
	}
	for name, body := range b {
		if strings.HasSuffix(name, ".md") {
			continue
		}
		if a[name] != body {
			t.Errorf("%s differs between the live inventory and the dump", name)
		}
	}
	for file, wants := range map[string][]string{
		"ROLLOUT.md": {
			"| shop | 1 | silent workloads | 2 workloads of the inventory never observed",
			"| shop | cleanup | CronJob | 0 | 30 4 \\* \\* 0 | the window covered no scheduled run: next 2026-11-22 04:30Z, last run 2026-11-15 04:30Z |",
			"| shop | recommender | Deployment | 1 |",
			"kube context flowfence-reader",
		},
		"shop/FLOWS.md": {"## Never observed", "| recommender | Deployment | 1 | \\- | \\- |"},
	} {
		for _, want := range wants {
			if !strings.Contains(a[file], want) {
				t.Errorf("%s lacks %q", file, want)
			}
		}
	}
}

// rbac: a user the ClusterRole's rules do not all cover gets an error
// naming the resources refused, the user and the rule to add; a refused
// token says so; nothing is written.
func (c *cluster) rbac(t *testing.T) {
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(c.srv.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	// restricted: the deploy ClusterRole without pods
	role := deployRole(t, c.root)
	role.Name = "flowfence-inventory-without-pods"
	for i := range role.Rules {
		role.Rules[i].Resources = slices.DeleteFunc(role.Rules[i].Resources, func(r string) bool { return r == "pods" })
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "restricted"}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, token string
		want        []string
	}{
		{"restricted", c.tokens["restricted"], []string{
			`--inventory kube: list pods (all namespaces): forbidden for restricted: add "list" on "pods" to the ClusterRole (deploy/inventory-clusterrole.yaml)`,
		}},
		{"stranger", c.tokens["stranger"], []string{
			`--inventory kube: list namespaces (cluster-scoped), list nodes (cluster-scoped), list pods (all namespaces), list deployments.apps (all namespaces)`,
			`forbidden for stranger: add "list" on "namespaces", "nodes", "pods", "deployments" (apiGroup "apps")`,
			`"networkpolicies" (apiGroup "networking.k8s.io") to the ClusterRole (deploy/inventory-clusterrole.yaml)`,
		}},
		{"bad token", "not-a-token", []string{
			"--inventory kube: list namespaces (cluster-scoped): unauthorized: the API server refused the kubeconfig's credentials (--kubeconfig, --context)",
		}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			dir := t.TempDir()
			kc := filepath.Join(dir, "kubeconfig")
			if err := c.srv.WriteKubeconfig(kc, "as-"+strings.ReplaceAll(tc.user, " ", "-"), tc.token); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			stderr, err := c.run("generate", "--from", sampleFlows, "--out", out, "--inventory", "kube", "--kubeconfig", kc)
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("generate: %v, want a failure\n%s", err, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s written (%v) though the inventory failed", out, err)
			}
		})
	}
}

func deployRole(t *testing.T, root string) *rbacv1.ClusterRole {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, kube.ClusterRoleFile))
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("%s: no ClusterRole (%v)", kube.ClusterRoleFile, err)
		}
		if obj["kind"] == "ClusterRole" {
			role := &rbacv1.ClusterRole{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, role); err != nil {
				t.Fatal(err)
			}
			return role
		}
	}
}

// flowSets are the flows the dry-run generates trees from: the sample,
// and each capture directory of ../shared/captures when present.
func (c *cluster) flowSets(t *testing.T) map[string][]string {
	sets := map[string][]string{"sample": {sampleFlows}}
	for _, sub := range []string{"hubble", "calico-flowlogs"} {
		dir, ok := testsupport.FindCaptures(sub)
		if !ok {
			t.Logf("../shared/captures/%s absent: dry-run of the sample only", sub)
			continue
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		sets["captures/"+sub] = []string{filepath.Join(abs, "*")}
	}
	return sets
}

// dryRun: `kubectl apply --dry-run=server -k` accepts every namespace
// bundle (and _cluster/) flowfence writes, for the k8s flavor and, after
// Cilium's CRDs are installed from the cilium module, the cilium flavor.
func (c *cluster) dryRun(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed: `make test-kubeapi` installs Debian's kubernetes-client (as root)")
	}
	ctx := context.Background()
	for _, flavor := range []string{"k8s", "cilium"} {
		t.Run(flavor, func(t *testing.T) {
			if flavor == "cilium" {
				installCiliumCRDs(t, c.srv)
			}
			total := 0
			runs := map[string][]string{}
			for name, from := range c.flowSets(t) {
				for _, f := range from {
					runs[name] = append(runs[name], "--from", f)
				}
			}
			// with the inventory, rules name container ports (port: http)
			runs["sample with its inventory"] = []string{"--from", sampleFlows, "--inventory", scenario.InventoryFile}
			for name, from := range runs {
				out := filepath.Join(t.TempDir(), "out")
				args := append([]string{"generate", "--format", flavor, "--out", out}, from...)
				if stderr, err := c.run(args...); err != nil {
					t.Fatalf("%s: generate: %v\n%s", name, err, stderr)
				}
				if slices.Contains(from, "--inventory") {
					named, err := os.ReadFile(filepath.Join(out, "shop", "cart-ingress.yaml"))
					if err != nil || !strings.Contains(string(named), "port: http") {
						t.Fatalf("%s: shop/cart-ingress.yaml names no container port (%v):\n%s", name, err, named)
					}
				}
				bundles, err := filepath.Glob(filepath.Join(out, "*", "kustomization.yaml"))
				if err != nil || len(bundles) == 0 {
					t.Fatalf("%s: no bundle written (%v)", name, err)
				}
				accepted := 0
				for _, k := range bundles {
					bundle := filepath.Dir(k)
					ns := filepath.Base(bundle)
					if ns != "_cluster" {
						if _, err := c.srv.Kubectl(ctx, "create", "namespace", ns); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
							t.Fatal(err)
						}
					}
					want := countObjects(t, bundle)
					got, err := c.srv.Kubectl(ctx, "apply", "--dry-run=server", "-k", bundle)
					if err != nil {
						t.Errorf("%s: %s: the API server refused the bundle: %v", name, ns, err)
						continue
					}
					n := strings.Count(got, "(server dry run)")
					if n != want {
						t.Errorf("%s: %s: %d objects accepted, the bundle holds %d:\n%s", name, ns, n, want, got)
					}
					accepted += n
				}
				t.Logf("%s flavor, %s: the API server accepted %d objects in %d bundles (server-side dry run)", flavor, name, accepted, len(bundles))
				total += accepted
			}
			if total == 0 {
				t.Fatal("no object applied")
			}
		})
	}
}

// helmChart: every object `helm template` renders from deploy/helm/flowfence
// (default values, and Goldmane over mTLS with the inventory's ClusterRole)
// is accepted by the API server in a server-side dry run. The helm binary
// is the one `make test-helm` builds (HELM).
func (c *cluster) helmChart(t *testing.T) {
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Skip("HELM is not set: `make test-kubeapi` passes the helm that `make test-helm` builds into bin/helm")
	}
	if _, err := os.Stat(helm); err != nil {
		t.Skipf("HELM=%s: %v (built by `make test-helm`)", helm, err)
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed: `make test-kubeapi` installs Debian's kubernetes-client (as root)")
	}
	ctx := context.Background()
	chart := filepath.Join(c.root, "deploy", "helm", "flowfence")
	for _, tc := range []struct {
		name string
		set  []string
	}{
		{"default values", nil},
		{"goldmane over mTLS with the inventory", []string{"source.kind=goldmane", "tls.enabled=true", "tls.existingSecret=goldmane-client", "inventory.enabled=true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", "flowfence", chart, "--namespace", "flowfence"}
			for _, kv := range tc.set {
				args = append(args, "--set", kv)
			}
			rendered, err := exec.Command(helm, args...).Output()
			if err != nil {
				t.Fatalf("helm %v: %v", args, err)
			}
			file := filepath.Join(t.TempDir(), "chart.yaml")
			if err := os.WriteFile(file, rendered, 0o644); err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, doc := range strings.Split(string(rendered), "\n---") {
				if strings.Contains(doc, "\nkind:") || strings.HasPrefix(strings.TrimSpace(doc), "kind:") {
					want++
				}
			}
			got, err := c.srv.Kubectl(ctx, "apply", "--dry-run=server", "-n", "flowfence", "-f", file)
			if err != nil {
				t.Fatalf("the API server refused the chart: %v\n%s", err, got)
			}
			if n := strings.Count(got, "(server dry run)"); n != want || n == 0 {
				t.Fatalf("%d objects accepted, the chart renders %d:\n%s", n, want, got)
			}
			t.Logf("helm chart, %s: the API server accepted %d objects (server-side dry run)", tc.name, want)
		})
	}
}

// countObjects counts the objects of a bundle: the documents of the files
// its kustomization lists.
func countObjects(t *testing.T, bundle string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(bundle, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range k.Resources {
		b, err := os.ReadFile(filepath.Join(bundle, r))
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				break
			}
			if obj["kind"] != nil {
				n++
			}
		}
	}
	return n
}

// installCiliumCRDs applies the CRDs of the cilium module (the version
// the root module requires) and waits until they are established.
func installCiliumCRDs(t *testing.T, srv *kubeapi.Server) {
	t.Helper()
	const mod = "github.com/cilium/cilium@v1.20.2"
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", mod, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: no directory (%v)", mod, err)
	}
	crds := filepath.Join(m.Dir, "pkg", "k8s", "apis", "cilium.io", "client", "crds", "v2")
	ctx := context.Background()
	got, err := srv.Kubectl(ctx, "apply", "--server-side", "-f", crds)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Cilium CRDs from %s: %d applied", crds, strings.Count(got, "serverside-applied"))
	if _, err := srv.Kubectl(ctx, "wait", "--for", "condition=established", "--timeout", "60s",
		"crd/ciliumnetworkpolicies.cilium.io", "crd/ciliumclusterwidenetworkpolicies.cilium.io"); err != nil {
		t.Fatal(err)
	}
}
