package output

import "bytes"

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
