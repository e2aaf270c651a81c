// Package dump reads a cluster inventory from what kubectl prints:
// `kubectl get ns,nodes,pods,deploy,sts,ds,rs,job,cronjob,svc,
// endpointslices,networkpolicies -A -o json` (a v1 List), the same with
// -o yaml, or multi-document YAML and JSON streams of objects and lists,
// gzip or not, from files, globs or stdin. Objects are decoded with the
// k8s.io/api types and converted into the plain inventory model by
// inventory/convert; kinds the inventory does not use are skipped and
// counted. Every input is treated
// as hostile: names and labels must pass record's rules, and a file may
// not grow past a size bound, or reading stops with an error that names
// the file and the document.
package dump

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/internal/limitread"
	"github.com/flowfence/flowfence/inventory"
	"github.com/flowfence/flowfence/inventory/convert"
)

// Flag is the command-line flag whose arguments Read takes (in errors).
const Flag = "--inventory"

// DefaultMaxBytes bounds the decompressed size of one inventory file: a
// `kubectl get … -o json` of a cluster of 10,000 pods is about 200 MiB.
const DefaultMaxBytes int64 = 512 << 20

// Options configure Read.
type Options struct {
	// MaxBytes bounds each file's decompressed size (0: DefaultMaxBytes).
	MaxBytes int64
	// Stdin is read for the argument "-".
	Stdin io.Reader
}

// Read reads every file that args name (paths, globs, "-") into one
// snapshot.
func Read(args []string, opts Options) (*inventory.Snapshot, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	var b inventory.Builder
	for _, arg := range args {
		paths, err := input.ExpandFlag(Flag, arg)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			if p == input.Stdin && opts.Stdin == nil {
				return nil, fmt.Errorf("%s -: no standard input", Flag)
			}
			if err := readFile(&b, p, opts); err != nil {
				return nil, err
			}
		}
	}
	return b.Build(), nil
}

// ReadFrom reads one stream (tests, callers with their own files); name
// is used in errors and the summary.
func ReadFrom(name string, r io.Reader, opts Options) (*inventory.Snapshot, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	var b inventory.Builder
	if err := decode(&b, name, r, opts.MaxBytes); err != nil {
		return nil, err
	}
	b.AddSource(name)
	return b.Build(), nil
}

func readFile(b *inventory.Builder, path string, opts Options) error {
	f, err := input.Open(path, opts.Stdin)
	if err != nil {
		return fmt.Errorf("%s: %w", Flag, err)
	}
	defer f.Close()
	if err := decode(b, f.Name, f.Reader(), opts.MaxBytes); err != nil {
		return err
	}
	b.AddSource(f.Name)
	return nil
}

func decode(b *inventory.Builder, name string, r io.Reader, limit int64) error {
	br := limitread.New(r, limit)
	dec := utilyaml.NewYAMLOrJSONDecoder(br, 4096)
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if br.Over() {
			return fmt.Errorf("%s: larger than %d bytes (the inventory bound of one file): split it, or read fewer resources", name, limit)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: not a Kubernetes object or list: %s", name, doc, escape.Snippet(err.Error(), 200))
		}
		if err := addDocument(b, raw); err != nil {
			return fmt.Errorf("%s: document %d%w", name, doc, err)
		}
	}
}

// header is what every object and list shares.
type header struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

// locErr is an error at an item of a list (its message starts with ", ")
// or at the document itself (": ").
func addDocument(b *inventory.Builder, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '{' {
		return errors.New(": not a Kubernetes object or list (a YAML or JSON mapping)")
	}
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf(": %s", escape.Snippet(err.Error(), 200))
	}
	if h.Kind == "List" || (strings.HasSuffix(h.Kind, "List") && h.Items != nil) {
		kind := strings.TrimSuffix(h.Kind, "List") // PodList items carry no kind
		for i, item := range h.Items {
			if err := addObject(b, item, kind); err != nil {
				return fmt.Errorf(", item %d%w", i+1, err)
			}
		}
		return nil
	}
	return addObject(b, raw, "")
}

// addObject converts one object; kind is its kind when the object does
// not say.
func addObject(b *inventory.Builder, raw json.RawMessage, kind string) error {
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf(": %s", escape.Snippet(err.Error(), 200))
	}
	if h.Kind != "" {
		kind = h.Kind
	}
	group, _, _ := strings.Cut(h.APIVersion, "/")
	if !strings.Contains(h.APIVersion, "/") {
		group = ""
	}
	into, add := convert.For(group, kind)
	if into == nil {
		switch {
		case kind == "":
			kind = "(no kind)"
		case !convert.ValidKind(kind):
			kind = "(invalid kind)"
		}
		b.Skip(kind)
		return nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf(" (%s): %s", kind, escape.Snippet(err.Error(), 200))
	}
	if err := add(b); err != nil {
		return fmt.Errorf(" (%s): %w", kind, err)
	}
	return nil
}
