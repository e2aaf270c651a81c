package intern

import (
	"fmt"
	"testing"
	"unsafe"
)

// TestTable: equal strings come back as one copy, whichever way they are
// given; the table never holds more than its bound; the empty string is
// never stored.
func TestTable(t *testing.T) {
	tab := New(4)
	a := tab.Bytes([]byte("shop"))
	b := tab.String(string([]byte("shop")))
	c := tab.Bytes([]byte("shop"))
	if a != "shop" || unsafe.StringData(a) != unsafe.StringData(b) || unsafe.StringData(a) != unsafe.StringData(c) {
		t.Errorf("three equal strings are not one copy: %p %p %p", unsafe.StringData(a), unsafe.StringData(b), unsafe.StringData(c))
	}
	if tab.Bytes(nil) != "" || tab.String("") != "" || tab.Len() != 1 {
		t.Errorf("the empty string: table holds %d strings, want 1", tab.Len())
	}
	for i := range 10 {
		s := fmt.Sprint("pod-", i)
		if got := tab.Bytes([]byte(s)); got != s {
			t.Fatalf("Bytes(%q) = %q", s, got)
		}
		if tab.Len() > 4 {
			t.Fatalf("after %d strings the table holds %d, above its bound 4", i+1, tab.Len())
		}
	}
}
