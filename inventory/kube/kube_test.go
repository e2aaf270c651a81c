package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://10.0.0.1:6443"}
- name: lab
  cluster: {server: "https://lab.example:443/"}
users:
- name: me
  user: {token: abc}
contexts:
- name: prod-admin
  context: {cluster: prod, user: me}
- name: lab
  context: {cluster: lab, user: me}
- name: "weird\u001b[31m"
  context: {cluster: lab, user: me}
current-context: prod-admin
`

// TestConfig: the kubeconfig --kubeconfig names, its current context or
// the one --context picks, named in the snapshot's source; errors name
// the flag.
func TestConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, tc := range []struct {
		name      string
		opts      Options
		host, src string
		wantErr   string
		envConfig string
	}{
		{name: "current context", opts: Options{Kubeconfig: path}, host: "https://10.0.0.1:6443", src: "kube context prod-admin at https://10.0.0.1:6443"},
		{name: "--context", opts: Options{Kubeconfig: path, Context: "lab"}, host: "https://lab.example:443/", src: "kube context lab at https://lab.example:443"},
		{name: "KUBECONFIG", envConfig: path, host: "https://10.0.0.1:6443", src: "kube context prod-admin at https://10.0.0.1:6443"},
		{name: "unprintable context", opts: Options{Kubeconfig: path, Context: "weird\x1b[31m"}, src: "kube context (a context whose name is not printable) at https://lab.example:443"},
		{name: "unknown context", opts: Options{Kubeconfig: path, Context: "nope"}, wantErr: `--inventory kube: kubeconfig: context "nope" does not exist`},
		{name: "missing file", opts: Options{Kubeconfig: path + ".missing"}, wantErr: "--inventory kube: kubeconfig: stat " + path + ".missing: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.envConfig != "" {
				t.Setenv("KUBECONFIG", tc.envConfig)
			}
			cfg, src, err := Config(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.host != "" && cfg.Host != tc.host {
				t.Errorf("host %q, want %q", cfg.Host, tc.host)
			}
			if src != tc.src {
				t.Errorf("source %q, want %q", src, tc.src)
			}
			if cfg.BearerToken != "abc" || cfg.UserAgent != "flowfence" {
				t.Errorf("token %q, user agent %q", cfg.BearerToken, cfg.UserAgent)
			}
		})
	}
}

// TestForbidden: RBAC refusals name each resource and scope, the user the
// server names, and the rule to add to the ClusterRole.
func TestForbidden(t *testing.T) {
	pods := Resources()[2]
	deploy := Resources()[3]
	refusal := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New(`User "system:serviceaccount:ops:flowfence" cannot list resource "pods" in API group "" at the cluster scope`))
	for _, tc := range []struct {
		name    string
		refused []Resource
		err     error
		want    string
	}{
		{"one", []Resource{pods}, refusal, `--inventory kube: list pods (all namespaces): forbidden for system:serviceaccount:ops:flowfence: add "list" on "pods" to the ClusterRole (deploy/inventory-clusterrole.yaml)`},
		{"two", []Resource{pods, deploy}, refusal, `--inventory kube: list pods (all namespaces), list deployments.apps (all namespaces): forbidden for system:serviceaccount:ops:flowfence: add "list" on "pods", "deployments" (apiGroup "apps") to the ClusterRole (deploy/inventory-clusterrole.yaml)`},
		{"no user named", []Resource{Resources()[0]}, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "", errors.New("denied")), `--inventory kube: list namespaces (cluster-scoped): forbidden for the kubeconfig's user: add "list" on "namespaces"`},
		{"hostile user", []Resource{pods}, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("User \"evil\x1b]0;x\" cannot list")), `forbidden for the kubeconfig's user`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := forbidden(tc.refused, forbiddenUser(tc.err)).Error()
			if !strings.Contains(got, tc.want) {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
