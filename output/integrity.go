package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/parallel"
	"github.com/flowfence/flowfence/policy"
)

// The tree is checked against the model before anything is written: every
// YAML file a formatter rendered is split into its documents, each
// document decoded strictly (unknown fields and duplicate keys are errors)
// and compared with the object the formatter built from the policy model;
// the set of files must be exactly the one the formatter meant to write.
// Whatever a name smuggled into a file (a comment turned into YAML, an
// extra document, a changed CIDR) shows up as a difference.

// Expecter is a formatter that can say which objects it meant to write
// and read one of its documents back.
type Expecter interface {
	Formatter
	// Expected returns, per tree path, the objects the formatter builds
	// from the model for that file, in document order (kustomizations
	// excluded: CheckTree derives them).
	Expected(set *policy.Set) (map[string][]any, error)
	// DecodeDocument strictly decodes one YAML document of the file at
	// path into the formatter's typed object (the type Expected returns
	// for that path) and validates it.
	DecodeDocument(path string, doc []byte) (any, error)
}

// OneObject returns the only object a document decoded to (objs and err
// as a flavor's Decode returns them): for Expecter.DecodeDocument.
func OneObject[T any](objs []T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("%d objects in one document", len(objs))
	}
	return objs[0], nil
}

// CheckTree checks a rendered tree against what f builds from set: the
// tree holds exactly the expected policy files plus one kustomization per
// directory (listing exactly that directory's files), and every file
// decodes to exactly the expected objects. The error names the file, the
// document and the object.
func CheckTree(f Formatter, set *policy.Set, t Tree) error {
	e, ok := f.(Expecter)
	if !ok {
		return fmt.Errorf("integrity check: formatter %s cannot read its tree back", f.Name())
	}
	want, err := e.Expected(set)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	dirs := map[string][]string{}
	for p := range want {
		d, file := path.Split(p)
		dirs[strings.TrimSuffix(d, "/")] = append(dirs[strings.TrimSuffix(d, "/")], file)
	}
	expected := map[string]bool{}
	for p := range want {
		expected[p] = true
	}
	for d := range dirs {
		expected[path.Join(d, KustomizationFile)] = true
	}
	var errs []error
	for _, p := range t.Paths() {
		if !expected[p] {
			errs = append(errs, fmt.Errorf("%s: a file the formatter did not mean to write", escape.Snippet(p, 128)))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(expected)) {
		if _, ok := t[p]; !ok {
			errs = append(errs, fmt.Errorf("%s: missing from the tree", p))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("integrity check (nothing was written): %w", errors.Join(errs...))
	}
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		files := slices.Sorted(slices.Values(dirs[d]))
		ns := d
		if d == ClusterDir {
			ns = ""
		}
		p := path.Join(d, KustomizationFile)
		if err := checkKustomization(p, t[p], ns, files); err != nil {
			errs = append(errs, err)
		}
	}
	// files are checked on all cores; errors reported in path order
	paths := slices.Sorted(maps.Keys(want))
	fileErrs := make([]error, len(paths))
	parallel.For(len(paths), func(i int) {
		fileErrs[i] = checkFile(e, paths[i], t[paths[i]], want[paths[i]])
	})
	for _, err := range fileErrs {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("integrity check (nothing was written): %w", errors.Join(errs...))
	}
	return nil
}

// checkFile decodes every document of one file and compares it with the
// objects the formatter built.
func checkFile(e Expecter, p string, data []byte, want []any) error {
	docs, err := Documents(p, data)
	if err != nil {
		return err
	}
	if len(docs) != len(want) {
		return fmt.Errorf("%s: %d YAML documents, the formatter wrote %d", p, len(docs), len(want))
	}
	for i, doc := range docs {
		got, err := e.DecodeDocument(p, doc)
		if err != nil {
			return fmt.Errorf("%s: document %d (%s): %w", p, i+1, ObjectName(want[i]), err)
		}
		if d := Diff(want[i], got); d != "" {
			return fmt.Errorf("%s: document %d (%s) differs from the policy model: %s", p, i+1, ObjectName(want[i]), d)
		}
	}
	return nil
}

// kustomization is what flowfence writes in a kustomization.yaml.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
}

func checkKustomization(p string, data []byte, ns string, files []string) error {
	docs, err := Documents(p, data)
	if err != nil {
		return err
	}
	if len(docs) != 1 {
		return fmt.Errorf("%s: %d YAML documents, the formatter wrote 1", p, len(docs))
	}
	var got kustomization
	if err := yaml.UnmarshalStrict(docs[0], &got); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	want := kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Namespace: ns, Resources: files}
	if d := Diff(want, got); d != "" {
		return fmt.Errorf("%s: the kustomization differs from the files written: %s", p, d)
	}
	return nil
}

// Documents splits a file a formatter wrote into its YAML documents at its
// "---" lines (blank and comment-only documents dropped). Anything else
// that could start a document, or break a line where the splitter would
// not see it, is an error: a line starting with "---" or "..." that is not
// a plain separator, a "%" directive, and the line breaks YAML knows
// besides "\n" (CR, NEL, LS, PS).
func Documents(name string, data []byte) ([][]byte, error) {
	for _, lb := range []string{"\r", "\u0085", "\u2028", "\u2029"} {
		if i := bytes.Index(data, []byte(lb)); i >= 0 {
			return nil, fmt.Errorf("%s:%d: a %q line break (YAML reads it as a new line)", name, bytes.Count(data[:i], []byte("\n"))+1, lb)
		}
	}
	var docs [][]byte
	start := 0
	line := 0
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		l := data[off:next]
		line++
		switch {
		case string(bytes.TrimSuffix(l, []byte("\n"))) == "---":
			docs = appendDoc(docs, data[start:off])
			start = next
		case bytes.HasPrefix(l, []byte("---")), bytes.HasPrefix(l, []byte("...")), bytes.HasPrefix(l, []byte("%")):
			return nil, fmt.Errorf("%s:%d: a YAML document marker or directive the formatter never writes", name, line)
		}
		off = next
	}
	return appendDoc(docs, data[start:]), nil
}

func appendDoc(docs [][]byte, doc []byte) [][]byte {
	for rest := doc; len(rest) > 0; {
		l, r, _ := bytes.Cut(rest, []byte("\n"))
		rest = r
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			return append(docs, doc)
		}
	}
	return docs
}

// Diff compares two typed objects structurally (their canonical JSON: the
// form the API server stores) and describes the first difference, or
// returns "" when they are equal.
func Diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	w, werr := json.Marshal(want)
	g, gerr := json.Marshal(got)
	if werr != nil || gerr != nil {
		return fmt.Sprintf("cannot compare (%v, %v)", werr, gerr)
	}
	if bytes.Equal(w, g) {
		return ""
	}
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	from := max(0, i-60)
	return fmt.Sprintf("at %s: want %s, decoded %s", escape.Snippet(string(w[from:i]), 80),
		escape.Snippet(string(w[i:min(len(w), i+80)]), 80), escape.Snippet(string(g[i:min(len(g), i+80)]), 80))
}

// ObjectName names a typed object for an error: its kind, namespace and
// name when it has them (a metadata field with Name/Namespace).
func ObjectName(obj any) string {
	v := reflect.ValueOf(obj)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "nil"
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Sprintf("%T", obj)
	}
	kind := fieldString(v, "Kind")
	var name, ns string
	for _, m := range []string{"ObjectMeta", "Metadata"} {
		if f := v.FieldByName(m); f.IsValid() && f.Kind() == reflect.Struct {
			name, ns = fieldString(f, "Name"), fieldString(f, "Namespace")
		}
	}
	if ns != "" {
		name = ns + "/" + name
	}
	return escape.Terminal(strings.TrimSpace(kind + " " + name))
}

func fieldString(v reflect.Value, name string) string {
	if f := v.FieldByName(name); f.IsValid() && f.Kind() == reflect.String {
		return f.String()
	}
	return ""
}
