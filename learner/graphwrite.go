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
	b = append(b, ',')
	b = appendKey(b, in, "dst")
	b = appendString(b, e.Dst)
	b = append(b, ',')
	b = appendKey(b, in, "proto")
	b = appendString(b, e.Proto)
	b = append(b, ',')
	if e.Port != 0 {
		b = appendKey(b, in, "port")
		b = strconv.AppendUint(b, uint64(e.Port), 10)
		b = append(b, ',')
	}
	b = appendKey(b, in, "flows")
	b = strconv.AppendUint(b, e.Flows, 10)
	b = append(b, ',')
	if e.Audit != 0 {
		b = appendKey(b, in, "audit")
		b = strconv.AppendUint(b, e.Audit, 10)
		b = append(b, ',')
	}
	if e.Dropped != 0 {
		b = appendKey(b, in, "dropped")
		b = strconv.AppendUint(b, e.Dropped, 10)
		b = append(b, ',')
	}
	b = appendKey(b, in, "firstSeen")
	if b, err = appendTime(b, e.FirstSeen); err != nil {
		return nil, err
	}
	b = append(b, ',')
	b = appendKey(b, in, "lastSeen")
	if b, err = appendTime(b, e.LastSeen); err != nil {
		return nil, err
	}
	// the optional fields that follow each open with the comma that ends
	// the one before
	if len(e.NodesSeen) > 0 {
		b = append(b, ',')
		b = appendKey(b, in, "nodesSeen")
		b = appendStrings(b, e.NodesSeen)
	}
	if len(e.Sources) > 0 {
		b = append(b, ',')
		b = appendKey(b, in, "sources")
		b = appendStrings(b, e.Sources)
	}
	if e.Answered {
		b = append(b, ',')
		b = appendKey(b, in, "answered")
		b = append(b, "true"...)
	}
	if len(e.FwdTuples) > 0 {
		b = append(b, ',')
		b = appendKey(b, in, "fwdTuples")
		b = appendUints(b, e.FwdTuples)
	}
	if e.FwdOverflow {
		b = append(b, ',')
		b = appendKey(b, in, "fwdOverflow")
		b = append(b, "true"...)
	}
	if len(e.DropTuples) > 0 {
		b = append(b, ',')
		b = appendKey(b, in, "dropTuples")
		b = appendUints(b, e.DropTuples)
	}
	if len(e.DeniedBy) > 0 {
		b = append(b, ',')
		b = appendKey(b, in, "deniedBy")
		b = appendDenials(b, e.DeniedBy)
	}
	return append(b, "\n    }"...), nil
}

func appendKey(b []byte, indent, key string) []byte {
	b = append(b, indent...)
	b = append(b, '"')
	b = append(b, key...)
	return append(b, `": `...)
}

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

// appendStrings appends an array of strings at the fields' depth.
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n        "...)
		b = appendString(b, s)
	}
	return append(b, "\n      ]"...)
}

// appendUints appends an array of numbers at the fields' depth.
func appendUints(b []byte, us []uint64) []byte {
	b = append(b, '[')
	for i, u := range us {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n        "...)
		b = strconv.AppendUint(b, u, 10)
	}
	return append(b, "\n      ]"...)
}

// appendDenials appends an array of denials at the fields' depth.
func appendDenials(b []byte, ds []Denial) []byte {
	b = append(b, '[')
	for i, d := range ds {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n        {"...)
		b = appendKey(b, "\n          ", "policy")
		b = appendString(b, d.Policy)
		b = append(b, ',')
		b = appendKey(b, "\n          ", "flows")
		b = strconv.AppendUint(b, d.Flows, 10)
		b = append(b, "\n        }"...)
	}
	return append(b, "\n      ]"...)
}
