package learner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/flowfence/flowfence/internal/jsondoc"
)

// Writing a graph is the last step of `flowfence learn`, on one core: the
// edges, nearly all of a graph's bytes, are appended by hand (no
// reflection, no allocation per edge) exactly as encoding/json's indenting
// encoder lays them out, and spliced into the document it writes for the
// rest. TestEdgeWriterIsEncodingJSON holds the bytes equal.

// edgesNull is where the document written with no edges gets them.
const edgesNull = "\n  \"edges\": null"

// writeDoc encodes gj (with its edges taken out) and splices the edges in.
func writeDoc(gj *graphJSON) ([]byte, error) {
	edges := gj.Edges
	if len(edges) == 0 {
		return encodeIndented(gj)
	}
	gj.Edges = nil
	doc, err := encodeIndented(gj)
	gj.Edges = edges
	if err != nil {
		return nil, err
	}
	at := bytes.Index(doc, []byte(edgesNull))
	if at < 0 {
		return nil, fmt.Errorf("write graph: no edges field in the document")
	}
	at += len(edgesNull) - len("null")
	out := make([]byte, 0, len(doc)+len(edges)*512)
	out = append(out, doc[:at]...)
	out = append(out, "[\n    "...)
	for i, e := range edges {
		if i > 0 {
			out = append(out, ",\n    "...)
		}
		if out, err = appendEdge(out, e); err != nil {
			return nil, err
		}
	}
	out = append(out, "\n  ]"...)
	out = append(out, doc[at+len("null"):]...)
	return out, nil
}

func encodeIndented(v any) ([]byte, error) {
	b, err := jsondoc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("write graph: %w", err)
	}
	return b, nil
}

// appendEdge appends e as an element of the document's edges array.
func appendEdge(b []byte, e *Edge) ([]byte, error) {
	const in = "\n      " // the fields' indentation
	var err error
	b = append(b, '{')
	b = appendKey(b, in, "src")
	b = appendString(b, e.Src)
	b = appendNextKey(b, in, "dst")
	b = appendString(b, e.Dst)
	b = appendNextKey(b, in, "proto")
	b = appendString(b, e.Proto)
	b = appendUintField(b, in, "port", uint64(e.Port))
	b = appendNextKey(b, in, "flows")
	b = appendUint(b, e.Flows)
	b = appendUintField(b, in, "audit", e.Audit)
	b = appendUintField(b, in, "dropped", e.Dropped)
	b = appendNextKey(b, in, "firstSeen")
	if b, err = appendTime(b, e.FirstSeen); err != nil {
		return nil, err
	}
	b = appendNextKey(b, in, "lastSeen")
	if b, err = appendTime(b, e.LastSeen); err != nil {
		return nil, err
	}
	b = appendArrayField(b, in, "nodesSeen", e.NodesSeen, appendString)
	b = appendArrayField(b, in, "sources", e.Sources, appendString)
	b = appendTrueField(b, in, "answered", e.Answered)
	b = appendArrayField(b, in, "fwdTuples", e.FwdTuples, appendUint)
	b = appendTrueField(b, in, "fwdOverflow", e.FwdOverflow)
	b = appendArrayField(b, in, "dropTuples", e.DropTuples, appendUint)
	b = appendArrayField(b, in, "deniedBy", e.DeniedBy, appendDenial)
	return append(b, "\n    }"...), nil
}

func appendKey(b []byte, indent, key string) []byte {
	b = append(b, indent...)
	b = append(b, '"')
	b = append(b, key...)
	return append(b, `": `...)
}

// appendNextKey appends the comma that ends the field before, then key.
func appendNextKey(b []byte, indent, key string) []byte {
	return appendKey(append(b, ','), indent, key)
}

func appendUint(b []byte, u uint64) []byte { return strconv.AppendUint(b, u, 10) }

// appendString appends s quoted as encoding/json quotes it (HTML-safe):
// plain printable ASCII directly, anything else through json.Marshal
// (which never fails on a string).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime appends t as time.Time's MarshalJSON writes it.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		if _, err := json.Marshal(t); err != nil {
			return nil, fmt.Errorf("write graph: %w", err)
		}
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// The omitempty fields of an edge (encoding/json's rule): a field whose
// value is its type's zero is left out; any other is written after the
// comma that ends the field before.

func appendUintField(b []byte, in, key string, u uint64) []byte {
	if u == 0 {
		return b
	}
	return appendUint(appendNextKey(b, in, key), u)
}

func appendTrueField(b []byte, in, key string, v bool) []byte {
	if !v {
		return b
	}
	return append(appendNextKey(b, in, key), "true"...)
}

// appendArrayField writes xs as an array at the fields' depth, each
// element by appendElem.
func appendArrayField[T any](b []byte, in, key string, xs []T, appendElem func([]byte, T) []byte) []byte {
	if len(xs) == 0 {
		return b
	}
	b = append(appendNextKey(b, in, key), '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n        "...)
		b = appendElem(b, x)
	}
	return append(b, "\n      ]"...)
}

// appendDenial appends d as an element of an edge's deniedBy array.
func appendDenial(b []byte, d Denial) []byte {
	const in = "\n          " // the denial's fields' indentation
	b = append(b, '{')
	b = appendKey(b, in, "policy")
	b = appendString(b, d.Policy)
	b = appendNextKey(b, in, "flows")
	b = appendUint(b, d.Flows)
	return append(b, "\n        }"...)
}
