package record

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestValidDNSName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"api.example.com", true},
		{"api.example.com.", true},
		{"_dns._udp.cluster.local", true},
		{"Mixed-Case.Example.COM", true},
		{"", false},
		{".", false},
		{"a..b", false},
		{".a", false},
		{"api.example.com\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0", false},
		{"a b", false},
		{"*.example.com", false},
		{"<img src=x>", false},
		{strings.Repeat("a", 64) + ".com", false},
		{strings.Repeat("a.", 127) + "a", false},
	}
	for _, tt := range tests {
		if got := ValidDNSName(tt.name); got != tt.ok {
			t.Errorf("ValidDNSName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestRecordCheck(t *testing.T) {
	good := func() Record {
		return Record{
			Src: Endpoint{Namespace: "shop", Pod: "frontend-1", Labels: map[string]string{"app": "frontend"}},
			Dst: Endpoint{IP: mustAddr("198.51.100.7"), Entity: EntityWorld, Names: []string{"api.example.com", "evil\n- to: x"}},
		}
	}
	r := good()
	shared := r.Dst.Names
	dropped, err := r.Check()
	if err != nil || dropped != 1 || len(r.Dst.Names) != 1 || r.Dst.Names[0] != "api.example.com" {
		t.Fatalf("Check() = %d, %v, names %q", dropped, err, r.Dst.Names)
	}
	if len(shared) != 2 {
		t.Fatalf("Check changed a shared slice in place")
	}

	bad := []struct {
		field string
		edit  func(*Record)
	}{
		{"source namespace", func(r *Record) { r.Src.Namespace = "Shop" }},
		{"source pod", func(r *Record) { r.Src.Pod = "../../etc/passwd" }},
		{"source pod", func(r *Record) { r.Src.Pod, r.Src.Aggregated = "../*", true }},
		{"source pod", func(r *Record) { r.Src.Pod = "frontend-6b7d9c4f5-*" }},
		{"destination namespace", func(r *Record) { r.Dst.Namespace = "a\nb" }},
		{"source workload", func(r *Record) { r.Src.WorkloadName = "x y" }},
		{"source workload kind", func(r *Record) { r.Src.WorkloadKind = "Deploy/ment" }},
		{"source cluster", func(r *Record) { r.Src.Cluster = "Prod EU" }},
	}
	for _, b := range bad {
		r := good()
		b.edit(&r)
		_, err := r.Check()
		var ie *IdentityError
		if !errors.As(err, &ie) || ie.Field != b.field {
			t.Errorf("%s: Check() = %v, want an IdentityError on %s", b.field, err, b.field)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("%s: error %q holds a line break", b.field, err)
		}
	}

	r = good()
	r.Src.Pod, r.Src.Aggregated = "frontend-6b7d9c4f5-*", true
	if _, err := r.Check(); err != nil {
		t.Errorf("an aggregated pod name prefix (Calico): Check() = %v", err)
	}

	r = good()
	r.Src.Labels = map[string]string{"app": "frontend", "bad key": "x", "k": "v\n"}
	if dropped, err := r.Check(); err != nil || dropped != 3 || len(r.Src.Labels) != 1 {
		t.Fatalf("labels: Check() = %d, %v, labels %v", dropped, err, r.Src.Labels)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
