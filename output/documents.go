package output

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/yaml"
)

// SplitDocuments splits a YAML file into its documents at "---" lines
// (a line holding only the marker, with or without CR): what a reader of
// a policy file decodes one by one.
func SplitDocuments(data []byte) [][]byte {
	if !bytes.Contains(data, []byte("---")) {
		return [][]byte{data} // no separator line: one document
	}
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if bytes.Equal(bytes.TrimRight(line, "\r\n"), []byte("---")) {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.Write(line)
	}
	return append(docs, cur.Bytes())
}

// BlankDocument reports a document of nothing but blank and comment lines.
func BlankDocument(doc []byte) bool {
	for len(doc) > 0 {
		line, rest, _ := bytes.Cut(doc, []byte("\n"))
		doc = rest
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return true
}

// DecodeDocuments decodes each document of a policy file that is not
// blank (BlankDocument) with decode, in file order; an error names the
// file (name) and the document, counted from 1 over every document.
func DecodeDocuments[T any](name string, data []byte, decode func(doc []byte) (T, error)) ([]T, error) {
	var out []T
	for i, doc := range SplitDocuments(data) {
		if BlankDocument(doc) {
			continue
		}
		obj, err := decode(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// DecodeStrict decodes one YAML document into a new T strictly (an unknown
// field or a duplicate key is an error) and validates it: how a flavor
// whose objects are structs of flowfence's own reads one back.
func DecodeStrict[T any](doc []byte, validate func(*T) error) (*T, error) {
	var obj T
	if err := yaml.UnmarshalStrict(doc, &obj); err != nil {
		return nil, err
	}
	if err := validate(&obj); err != nil {
		return nil, err
	}
	return &obj, nil
}

// ClusterObjects is one file of generated cluster-scoped objects: each
// object validated before it is written (an invalid one is refused,
// "generated <what> is invalid"), marshaled, "---" between them.
func ClusterObjects[T any](objs []T, what func(T) string, validate func(T) error, marshal func(i int, obj T) ([]byte, error)) ([]byte, error) {
	var b bytes.Buffer
	for i, obj := range objs {
		if err := validate(obj); err != nil {
			return nil, fmt.Errorf("generated %s is invalid: %w", what(obj), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		part, err := marshal(i, obj)
		if err != nil {
			return nil, err
		}
		b.Write(part)
	}
	return b.Bytes(), nil
}
