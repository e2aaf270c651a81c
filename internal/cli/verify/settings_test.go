package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyUsesSavedSettings: verify judges a tree from generate with the
// settings saved in it; a flag given on the command line overrides one and
// stderr says so; a tampered settings file is refused naming it.
func TestVerifyUsesSavedSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "policies")
	must(t, "generate", "--quiet", "--from", sample, "--out", dir, "--cloud", "aws")
	settings := filepath.Join(dir, ".flowfence", "settings.json")
	if _, stderr, code, err := run(t, "verify", "--policies", dir, "--from", sample); code != 0 || strings.Contains(stderr, "overrides") {
		t.Errorf("verify: exit %d (%v)\n%s", code, err, stderr)
	}
	_, stderr, code, err := run(t, "verify", "--policies", dir, "--from", sample, "--cloud", "gcp")
	if code != 0 || !strings.Contains(stderr, "verify: the command line overrides a setting saved in "+settings+": cloud: gcp (saved: aws)") {
		t.Errorf("verify --cloud gcp: exit %d (%v)\n%s", code, err, stderr)
	}
	b, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, []byte(strings.Replace(string(b), `"cni": "kubernetes"`, `"cni": "flannel"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, code, err := run(t, "verify", "--policies", dir, "--from", sample); code != 1 || err == nil || !strings.Contains(err.Error(), settings+`: cni "flannel"`) {
		t.Errorf("tampered settings: exit %d, %v", code, err)
	}
}
