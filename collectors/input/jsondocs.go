package input

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxDocumentBytes bounds a JSON input that is not one value per line (a
// pretty-printed Elasticsearch search response, grpcurl output): it is read
// whole.
const maxDocumentBytes = 1 << 30

// DecodeJSON reads a JSON input in either layout and hands its values to
// decode as Lines (in input order, to sink, as DecodeParallel does):
//
//   - one value per line (JSON lines, NDJSON): the lines are decoded on
//     `workers` goroutines; a malformed line is one Line, and the last line
//     may be truncated (Line.Last);
//   - values spanning lines (pretty-printed or concatenated documents): the
//     values are split by a JSON decoder, each delivered as one Line whose
//     No is the line it starts on. A syntax error cannot be skipped: the rest
//     of the input is delivered as one last Line (Last when the input simply
//     ends inside the value: a truncated file) and reading stops.
//
// The layout is chosen from the first non-blank line: a complete JSON value
// means one value per line.
func DecodeJSON[T any](ctx context.Context, f *File, workers int, decode func(l Line, out []T) []T, sink func([]T) error) error {
	return DecodeJSONPer(ctx, f, workers, func() func(Line, []T) []T { return decode }, sink)
}

// DecodeJSONPer is DecodeJSON with worker-local decoders (see
// DecodeParallelPer).
func DecodeJSONPer[T any](ctx context.Context, f *File, workers int, newDecode func() func(l Line, out []T) []T, sink func([]T) error) error {
	head, err := f.Peek(1 << 20)
	if err != nil {
		return err
	}
	if oneValuePerLine(head) {
		return DecodeParallelPer(ctx, NewLines(f), workers, newDecode, sink)
	}
	decode := newDecode()
	data, err := io.ReadAll(io.LimitReader(f.Reader(), maxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	if len(data) > maxDocumentBytes {
		return fmt.Errorf("%s: a JSON document over %d bytes that is not one value per line: split it into JSON lines", f.Name, maxDocumentBytes)
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []T
	pos := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := pos + len(data[pos:]) - len(bytes.TrimLeft(data[pos:], " \t\r\n"))
		if start >= len(data) {
			return nil
		}
		line := 1 + bytes.Count(data[:start], []byte("\n"))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			last := errors.Is(err, io.ErrUnexpectedEOF)
			out = decode(Line{Data: bytes.TrimSpace(data[start:]), No: line, Last: last}, out[:0])
			return sink(out)
		}
		pos = int(dec.InputOffset())
		out = decode(Line{Data: raw, No: line}, out[:0])
		if err := sink(out); err != nil {
			return err
		}
	}
}

// oneValuePerLine reports whether the first non-blank line of head is a
// complete JSON value.
func oneValuePerLine(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte(utf8BOM))
	for len(head) > 0 {
		line := head
		i := bytes.IndexByte(head, '\n')
		if i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		return json.Valid(line)
	}
	return true
}
