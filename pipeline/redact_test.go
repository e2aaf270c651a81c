package pipeline

import "testing"

// TestRedactURL: a live source's URL is recorded as given, less any
// credentials in it.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"goldmane://alice:s3cret@goldmane.calico-system:7443": "goldmane://goldmane.calico-system:7443",
		"goldmane://token@10.0.0.1:7443":                      "goldmane://10.0.0.1:7443",
		"goldmane://goldmane:7443":                            "goldmane://goldmane:7443",
		"hubble://localhost:4245":                             "hubble://localhost:4245",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
