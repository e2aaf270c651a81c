package picture_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAssetsArePinned: the libraries embedded in the page are the versions
// web/package-lock.json pins (as assets/README.md names them), each with
// its licence; when `make picture-assets` has run (web/node_modules), the
// committed copies are byte for byte what npm installed.
func TestAssetsArePinned(t *testing.T) {
	var lock struct {
		Packages map[string]struct {
			Version   string `json:"version"`
			License   string `json:"license"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join("web", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	readme, err := os.ReadFile(filepath.Join("assets", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	libs := []struct{ pkg, dist, asset, licence string }{
		{"cytoscape", "dist/cytoscape.min.js", "cytoscape.min.js", "cytoscape.LICENSE"},
		{"cytoscape-dagre", "dist/cytoscape-dagre.min.js", "cytoscape-dagre.min.js", "cytoscape-dagre.LICENSE"},
	}
	installed := 0
	for _, l := range libs {
		p, ok := lock.Packages["node_modules/"+l.pkg]
		if !ok || p.Version == "" || p.Integrity == "" {
			t.Errorf("%s: not pinned in package-lock.json", l.pkg)
			continue
		}
		if p.License != "MIT" {
			t.Errorf("%s: licence %q, want MIT", l.pkg, p.License)
		}
		if !strings.Contains(string(readme), "`"+l.pkg+"` "+p.Version+" ") {
			t.Errorf("assets/README.md does not name %s %s", l.pkg, p.Version)
		}
		asset, err := os.ReadFile(filepath.Join("assets", l.asset))
		if err != nil {
			t.Fatal(err)
		}
		if lic, err := os.ReadFile(filepath.Join("assets", l.licence)); err != nil || !bytes.Contains(lic, []byte("Permission is hereby granted")) {
			t.Errorf("%s: licence file %s: %v", l.pkg, l.licence, err)
		}
		dist, err := os.ReadFile(filepath.Join("web", "node_modules", l.pkg, l.dist))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		installed++
		if !bytes.Equal(dist, asset) {
			t.Errorf("assets/%s differs from what npm installed (%s %s): run make picture-assets", l.asset, l.pkg, p.Version)
		}
	}
	if installed == 0 {
		t.Log("web/node_modules absent (make picture-assets installs it): the copies were not compared byte for byte")
	}
}
