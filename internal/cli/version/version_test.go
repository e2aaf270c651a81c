package version_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/flowfence/flowfence/internal/cli/clitest"
	"github.com/flowfence/flowfence/internal/cli/version"
)

func TestFromBuildInfo(t *testing.T) {
	cases := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"stamped", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/flowfence/flowfence", Version: "v0.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-12-05T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}, true,
			"flowfence v0.4.0 (revision 0123abc, modified, 2026-12-05T10:00:00Z) go1.26.0"},
		{"checkout without VCS", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/flowfence/flowfence", Version: "(devel)"}}, true,
			"flowfence (devel) (no VCS revision stamped) go1.26.0"},
		{"no build info", nil, false, "flowfence unknown (no VCS revision stamped)"},
		{"hostile revision", &debug.BuildInfo{Main: debug.Module{Version: "v1"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc\x1b[2J"}}}, true,
			`flowfence v1 (revision abc\x1b[2J)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := version.FromBuildInfo(c.bi, c.ok).Text(); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestVersionOfABuiltBinary builds flowfence from this git checkout and
// checks that `flowfence version` names the checkout's HEAD revision, in
// text and JSON. Without PGO the build reuses the packages the test run
// compiled (default.pgo would recompile every dependency).
func TestVersionOfABuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git checkout (git rev-parse HEAD: %v): no VCS stamp to check", err)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("git rev-parse --show-toplevel: %v", err)
	}
	if st, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !st.IsDir() {
		t.Skip("a git worktree (.git is a file): go build stamps VCS information only in a checkout whose .git is a directory (cmd/go/internal/vcs)")
	}
	bin := filepath.Join(t.TempDir(), "flowfence")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-buildvcs=true", "-pgo=off", "-o", bin, "github.com/flowfence/flowfence/cmd/flowfence")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	text, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	rev := strings.TrimSpace(string(head))
	if !strings.Contains(string(text), "revision "+rev) || !strings.Contains(string(text), runtime.Version()) {
		t.Errorf("version = %q, want revision %s and %s", text, rev, runtime.Version())
	}
	js, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var info version.Info
	if err := json.Unmarshal(js, &info); err != nil {
		t.Fatal(err)
	}
	if info.Revision != rev || info.Module != "github.com/flowfence/flowfence" || info.Version != 1 {
		t.Errorf("JSON %+v", info)
	}
}

// TestVersionCommand: the verb through the root command (go test binaries
// carry no VCS stamp).
func TestVersionCommand(t *testing.T) {
	out, _, _, err := clitest.Run(t, "", "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var info version.Info
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.GoVersion != runtime.Version() {
		t.Errorf("version -o json: %v %+v", err, info)
	}
}
