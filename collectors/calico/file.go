package calico

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/collectors/input"
	"github.com/flowfence/flowfence/record"
)

// DecodeDocument decodes one JSON value of a flow-log input into flow
// logs: a flow-log document (Felix line, Elasticsearch `_source`), an
// Elasticsearch hit ({"_source":{…}}), a search or scroll response
// ({"hits":{"hits":[…]}}) or a JSON array of any of these. It returns an
// error for a value that is none of them or whose fields have the wrong
// types; empty is true for a search response without hits.
func DecodeDocument(b []byte) (logs []FlowLog, empty bool, err error) {
	top, n, err := collectors.JSONValue(b, func(it json.RawMessage) error {
		l, _, err := DecodeDocument(it)
		logs = append(logs, l...)
		return err
	})
	switch {
	case err != nil:
		return nil, false, err
	case top == nil:
		return logs, n == 0, nil
	}
	if src, ok := top["_source"]; ok {
		l, _, err := DecodeDocument(src)
		if err != nil {
			return nil, false, fmt.Errorf("_source: %w", err)
		}
		return l, false, nil
	}
	if hits, ok := top["hits"]; ok {
		var h struct {
			Hits []json.RawMessage `json:"hits"`
		}
		if err := json.Unmarshal(hits, &h); err != nil {
			return nil, false, fmt.Errorf("hits: %w", err)
		}
		for i, it := range h.Hits {
			l, _, err := DecodeDocument(it)
			if err != nil {
				return nil, false, fmt.Errorf("hits.hits[%d]: %w", i, err)
			}
			logs = append(logs, l...)
		}
		return logs, len(h.Hits) == 0, nil
	}
	if _, ok := top["reporter"]; !ok {
		if _, ok := top["source_type"]; !ok {
			return nil, false, errors.New("JSON object is not a Calico flow log (no reporter, source_type, _source or hits)")
		}
	}
	var f FlowLog
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, false, err
	}
	if err := f.Validate(); err != nil {
		return nil, false, err
	}
	return []FlowLog{f}, false, nil
}

// FileSource reads one flow-log file (already opened and detected).
type FileSource = collectors.LineFile

// NewFileSource reads Calico flow logs from f (on all cores when it has
// one document per line), in file order.
func NewFileSource(f *input.File, opts collectors.Options) *FileSource {
	// the workers share one table of endpoints (eptable.go)
	eps := newEpTable()
	newDecode := func() collectors.DecodeValue {
		fd := newSharingDecoder(eps)
		return func(b []byte, v *collectors.Value) {
			// the fast path (fastdecode.go)
			v.Recs = append(v.Recs, record.Record{})
			skip, ok, handled, err := fd.decode(b, &v.Recs[0])
			if handled {
				v.Err = err
				switch {
				case err != nil:
					v.Recs = v.Recs[:0]
				case !ok:
					v.Recs = v.Recs[:0]
					v.Skips = append(v.Skips, skip)
				}
				return
			}
			v.Recs = v.Recs[:0]
			decodeValue(b, v)
		}
	}
	return &FileSource{File: f, Opts: opts, What: "Calico flow log", NewDecode: newDecode}
}

// decodeValue decodes one document of any form (DecodeDocument) into v.
func decodeValue(b []byte, v *collectors.Value) {
	logs, empty, err := DecodeDocument(b)
	if v.Err = err; empty {
		v.Skips = append(v.Skips, SkipEmptyResponse)
	}
	for i := range logs {
		v.Recs = append(v.Recs, record.Record{})
		if skip, ok := Convert(&logs[i], &v.Recs[len(v.Recs)-1]); !ok {
			v.Recs = v.Recs[:len(v.Recs)-1]
			v.Skips = append(v.Skips, skip)
		}
	}
}
