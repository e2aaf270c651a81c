package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ReadLimited reads all of r, refusing more than limit bytes: a document a
// user's file or a pull request supplies is bounded before it is parsed.
// what names the document in the refusal ("larger than N bytes: not a
// what").
func ReadLimited(r io.Reader, limit int, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("larger than %d bytes: not a %s", limit, what)
	}
	return data, nil
}

// DecodeStrict decodes data as exactly one JSON document into v: a member v
// does not have is an error (a misspelt setting must not be ignored), and
// so is anything after the document ("trailing data after the what").
// Errors are encoding/json's or that one, unescaped: the caller escapes
// them for where they are shown.
func DecodeStrict(data []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("trailing data after the %s", what)
	}
	return nil
}
