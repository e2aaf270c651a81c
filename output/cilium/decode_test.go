package cilium

import (
	"strings"
	"testing"
)

// TestDecodeSplitsLikeTheVerifier: a file is cut into documents at "---"
// lines as every other reader of trees cuts it (output.SplitDocuments), so a
// leading separator, CRLF line endings or a separator at the end read as
// the documents a user sees.
func TestDecodeSplitsLikeTheVerifier(t *testing.T) {
	const doc = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: %s\n  namespace: shop\nspec:\n  endpointSelector: {}\n  ingress:\n  - {}\n"
	a, b := strings.Replace(doc, "%s", "a", 1), strings.Replace(doc, "%s", "b", 1)
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"one", a, []string{"a"}},
		{"two", a + "---\n" + b, []string{"a", "b"}},
		{"leading separator", "---\n" + a + "---\n" + b, []string{"a", "b"}},
		{"trailing separator", a + "---\n", []string{"a"}},
		{"CRLF", strings.ReplaceAll(a+"---\n"+b, "\n", "\r\n"), []string{"a", "b"}},
		{"comment-only document", "# generated\n---\n" + a, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode("p.yaml", []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.Metadata.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("decoded %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := Decode("p.yaml", []byte(a+"---\nkind: [\n")); err == nil || !strings.Contains(err.Error(), "p.yaml: document 2") {
		t.Errorf("a bad second document: %v, want an error naming p.yaml: document 2", err)
	}
}
