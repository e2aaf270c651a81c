// Package jsondoc writes flowfence's JSON documents (the saved graph,
// the -o json reports of diff, verify, explain and version) the one way
// they all look: encoding/json's output indented by two spaces, with a
// trailing newline; and reads the small documents a tree or a user
// supplies (settings, port tables) the one strict way: bounded, exactly
// one value, no unknown member.
package jsondoc

import (
	"bytes"
	"encoding/json"
)

// Marshal renders v as an indented JSON document with a trailing newline.
// Errors are encoding/json's, for the caller to wrap.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
