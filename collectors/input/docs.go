package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxDocumentBytes bounds one JSON value of a document reader (a
// pretty-printed Elasticsearch search response, one element of a `jq -s`
// array, a flow spread over lines): a longer value is reported (Line.Err,
// Line.TooLong) and its bytes are discarded while the reader scans to its
// end, so memory stays bounded whatever the input.
const MaxDocumentBytes = 64 << 20

// Documents: a Lines made by NewDocuments yields every top-level JSON value
// of the input, in every framing users produce — one value per line (JSON
// lines), values pretty-printed over many lines (`jq .`), values
// concatenated with or without whitespace, and JSON arrays of values (`jq
// -s`, `jq -sc`), whose elements are yielded one by one — each as one Line
// numbered by the line it starts on. It never parses: a small scanner
// tracks strings, escapes and bracket depth.
//
// A line that is one object ({…}) is yielded as it is, without scanning its
// bytes: files of one object per line keep the cost of NewLines. A line
// whose first non-blank byte is not { or [ is garbage: it is yielded as one
// Line (its decoder reports it) and the next line starts afresh, so a bad
// line never hides the values after it. A value the scanner sees broken is
// yielded with Line.Err set and reading resumes where a new value can start:
//
//   - a line ends inside a string (a JSON string cannot hold a newline: the
//     value was cut, or it is not JSON);
//   - a closing bracket does not match the open one;
//   - a line whose first non-blank byte opens a value ({ or [) at the
//     column of the open value's own first byte or left of it (pretty
//     printers indent what is inside a value, so a new value starts there:
//     the open one was cut — a truncated line of a JSON-lines file, a
//     pretty-printed document cut short);
//   - the value grows past MaxDocumentBytes (the rest of it is discarded).
//
// After a broken value the lines that still belong to it (indented ones,
// closing brackets) are skipped up to the next line that can start a value.
// A value still open at the end of the input is yielded with Last set: a
// truncated tail, normal for a rotated file.

// NewDocuments reads the JSON values of f in any framing (see above).
func NewDocuments(f *File) *Lines {
	l := NewLines(f)
	l.sp = &splitter{line: 1, lineStart: true}
	return l
}

// NewDocumentsFrom reads the JSON values of any reader.
func NewDocumentsFrom(name string, r io.Reader) *Lines {
	l := NewLinesFrom(name, r)
	l.sp = &splitter{line: 1, lineStart: true}
	return l
}

// Split splits one line into the JSON values on it (`{…}{…}`, `{…} {…}`,
// a value followed by garbage), numbered as the line, for a decoder that
// could not decode the line as one value. It returns the line alone when
// it holds one value or none.
func Split(l Line) []Line {
	if l.TooLong || l.Err != nil {
		return []Line{l}
	}
	d := NewDocumentsFrom("", bytes.NewReader(l.Data))
	d.sp.scanAll = true
	var out []Line
	for {
		// a fresh buffer per batch: the values stay valid
		_, ls := d.ReadBatch(nil, nil)
		if len(ls) == 0 {
			break
		}
		for _, u := range ls {
			u.No = l.No + u.No - 1
			u.Last = u.Last && l.Last
			out = append(out, u)
		}
	}
	if len(out) <= 1 {
		return []Line{l}
	}
	return out
}

// the splitter's modes
const (
	modeTop     = iota // at the start of a line, between values
	modeInline         // between values, inside a line (after a value closed)
	modeValue          // inside a top-level value
	modeSkip           // skipping the lines that remain of a broken value
	modeDiscard        // discarding the rest of a garbage line too long to keep
)

// splitter is the state of a document reader between blocks. Offsets are
// into the current buffer; rebase shifts them when the buffer's unfinished
// part is carried to the next one.
type splitter struct {
	mode int
	pos  int // next byte to scan
	line int // line number at pos
	// lineOff is the offset of the current line's first byte, lineStart
	// whether no non-blank byte was seen on it yet
	lineOff   int
	lineStart bool
	// the unit (top-level value, or element of a top-level array) being
	// read: its first byte, line and column; over when it outgrew
	// MaxDocumentBytes (its bytes are no longer kept)
	unit, unitLine, unitCol int
	over                    bool
	// lastSig is just after the last non-blank byte scanned
	lastSig int
	stack   []byte // open brackets of the top-level value
	inStr   bool
	esc     bool
	// arr: the top-level value is an array, whose elements are the units;
	// elem: an element has started; arrCol: the column of the array's [
	arr, elem bool
	arrCol    int
	// skipCol: while skipping a broken value, the column at or left of
	// which a line starts anew
	skipCol int
	// scanAll scans every line, even one that is one object (Split)
	scanAll bool
}

// readDocs is ReadBatch for a document reader.
func (l *Lines) readDocs(buf []byte, lines []Line) ([]byte, []Line) {
	s := l.sp
	n0 := len(lines)
	if cap(buf) > 4*(readBlock+carrySlack) && len(l.carry) < readBlock {
		// a buffer grown for a large value is not kept for small ones
		buf = nil
	}
	buf = append(buf[:0], l.carry...)
	l.carry = l.carry[:0]
	for l.err == nil {
		if cap(buf)-len(buf) < readBlock {
			grow := max(len(buf)/2, carrySlack)
			nb := make([]byte, len(buf), min(len(buf)+readBlock+grow, MaxDocumentBytes+2*readBlock+carrySlack))
			copy(nb, buf)
			buf = nb
		}
		var n int
		var err error
		if l.raw != nil && l.r.Buffered() == 0 {
			if _, err = l.r.Read(nil); err == nil {
				n, err = l.raw.Read(buf[len(buf):cap(buf)])
			}
		} else {
			n, err = l.r.Read(buf[len(buf):cap(buf)])
		}
		buf = buf[:len(buf)+n]
		lines = s.scan(buf, lines, err != nil)
		l.no = s.line
		if err != nil {
			l.fail(err)
			return buf, lines
		}
		keep := s.keep(len(buf))
		if len(lines) > n0 {
			l.carry = append(l.carry, buf[keep:]...)
			s.rebase(keep)
			return buf[:keep], lines
		}
		if keep > 0 {
			buf = buf[:copy(buf, buf[keep:])]
			s.rebase(keep)
		}
	}
	return buf, lines
}

// keep is the first byte of buf (of length n) still needed: the start of
// the unfinished line or unit.
func (s *splitter) keep(n int) int {
	switch s.mode {
	case modeTop, modeInline:
		return s.pos
	case modeValue:
		if (!s.arr || s.elem) && !s.over {
			return s.unit
		}
	}
	return n
}

func (s *splitter) rebase(k int) {
	s.pos -= k
	s.lineOff -= k
	s.unit -= k
	s.lastSig -= k
}

// scan splits buf from s.pos on, appending the units it completes; eof
// says no byte follows buf.
func (s *splitter) scan(buf []byte, lines []Line, eof bool) []Line {
	for s.pos < len(buf) || (eof && s.mode == modeValue) {
		switch s.mode {
		case modeTop:
			if !s.top(buf, &lines, eof) {
				return lines
			}
		case modeInline:
			if !s.inline(buf, &lines, eof) {
				return lines
			}
		case modeValue:
			s.value(buf, &lines)
			if s.mode != modeValue {
				continue
			}
			if eof {
				// the input ends inside the value: a truncated tail
				if s.arr && !s.elem {
					s.mode = modeTop
					s.pos = len(buf)
					return lines
				}
				s.emit(buf, &lines, s.lastSig, nil, true)
				s.mode, s.pos = modeTop, len(buf)
				return lines
			}
			if !s.over && (!s.arr || s.elem) && s.pos-s.unit > MaxDocumentBytes {
				s.over = true
			}
			return lines
		case modeSkip:
			s.skip(buf)
		case modeDiscard:
			i := bytes.IndexByte(buf[s.pos:], '\n')
			if i < 0 {
				s.pos = len(buf)
				return lines
			}
			s.newLine(s.pos + i + 1)
			s.mode = modeTop
		}
	}
	return lines
}

func (s *splitter) newLine(off int) {
	s.pos, s.lineOff, s.lineStart = off, off, true
	s.line++
}

// top reads the line at s.pos: one object, the start of a value, or
// garbage. It returns false when the line is not complete yet.
func (s *splitter) top(buf []byte, lines *[]Line, eof bool) bool {
	rest := buf[s.pos:]
	end, terminated := len(buf), false
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		end, terminated = s.pos+i, true
	} else if !eof && len(rest) <= MaxLineBytes {
		return false
	}
	content := buf[s.pos:end]
	if s.line == 1 && s.pos == s.lineOff {
		content = bytes.TrimPrefix(content, []byte(utf8BOM))
	}
	data := bytes.TrimSpace(content)
	long := !terminated && !eof
	switch {
	case len(data) == 0 && !long:
		// blank
	case data[0] == '{' && data[len(data)-1] == '}' && !long && !s.scanAll:
		// one object: taken as it is (the fast path)
		*lines = append(*lines, Line{Data: data, No: s.line, Last: !terminated})
	case data[0] == '{' || data[0] == '[':
		// data is a subslice of content, content of buf
		s.start(end - len(content) + cap(content) - cap(data))
		return true
	case long:
		// garbage longer than any value kept: its beginning, the rest
		// discarded
		*lines = append(*lines, Line{Data: data[:min(len(data), MaxLineBytes)], No: s.line, TooLong: true})
		s.mode, s.pos = modeDiscard, len(buf)
		return true
	default:
		*lines = append(*lines, Line{Data: data, No: s.line, Last: !terminated})
	}
	if terminated {
		s.newLine(end + 1)
	} else {
		s.pos = len(buf)
	}
	return true
}

// start begins a top-level value at buf[off] ({ or [).
func (s *splitter) start(off int) {
	s.mode = modeValue
	s.pos = off
	s.stack = s.stack[:0]
	s.inStr, s.esc, s.over = false, false, false
	s.arr, s.elem = false, false
	s.unit, s.unitLine, s.unitCol = off, s.line, off-s.lineOff
	s.lastSig = off
	s.lineStart = false
}

// inline reads what follows a value on its line: blanks and commas, a new
// value, or garbage up to the end of the line.
func (s *splitter) inline(buf []byte, lines *[]Line, eof bool) bool {
	for i := s.pos; i < len(buf); i++ {
		switch c := buf[i]; c {
		case ' ', '\t', '\r', ',':
		case '\n':
			s.newLine(i + 1)
			s.mode = modeTop
			return true
		case '{', '[':
			s.start(i)
			return true
		default:
			j := bytes.IndexByte(buf[i:], '\n')
			if j < 0 && !eof {
				s.pos = i
				return false
			}
			end := len(buf)
			if j >= 0 {
				end = i + j
			}
			if data := bytes.TrimSpace(buf[i:end]); len(data) > 0 {
				*lines = append(*lines, Line{Data: data, No: s.line, Last: j < 0})
			}
			if j < 0 {
				s.pos = len(buf)
				return true
			}
			s.newLine(end + 1)
			s.mode = modeTop
			return true
		}
	}
	s.pos = len(buf)
	return true
}

// emit appends the unit that ends at end (exclusive); err is the
// scanner's diagnosis of a broken one.
func (s *splitter) emit(buf []byte, lines *[]Line, end int, err error, last bool) {
	if s.over {
		msg := fmt.Errorf("a JSON value longer than %d bytes (MaxDocumentBytes): skipped", MaxDocumentBytes)
		if err != nil {
			msg = fmt.Errorf("%w; %w", msg, err)
		}
		*lines = append(*lines, Line{No: s.unitLine, TooLong: true, Err: msg})
		s.over = false
		return
	}
	if end < s.unit {
		end = s.unit
	}
	data := bytes.TrimSpace(buf[s.unit:end])
	if len(data) == 0 && err == nil {
		// blank by the line rule (a form feed or other Unicode space the
		// JSON scanner does not skip): nothing to decode, as a blank line
		return
	}
	*lines = append(*lines, Line{Data: data, No: s.unitLine, Last: last && err == nil, Err: err})
}

var errNewlineInString = errors.New("a line ends inside a JSON string: the value is cut short, or it is not JSON")

// value scans the open value from s.pos to the end of buf (or until the
// value ends or breaks).
func (s *splitter) value(buf []byte, lines *[]Line) {
	i := s.pos
	for ; i < len(buf); i++ {
		c := buf[i]
		if s.inStr {
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '"':
				s.inStr = false
				s.lastSig = i + 1
			case c == '\n':
				s.broken(buf, lines, i, errNewlineInString)
				return
			}
			continue
		}
		switch c {
		case '\n':
			s.line++
			s.lineOff, s.lineStart = i+1, true
			continue
		case ' ', '\t', '\r':
			continue
		}
		if s.lineStart {
			s.lineStart = false
			if c == '{' || c == '[' {
				s.cut(buf, lines, i)
			}
		}
		depth := len(s.stack)
		switch c {
		case '"':
			s.elemStart(i, depth)
			s.inStr = true
		case '{', '[':
			s.elemStart(i, depth)
			s.stack = append(s.stack, c)
			if depth == 0 && c == '[' {
				s.arr, s.arrCol = true, i-s.lineOff
			}
		case '}', ']':
			if depth == 0 || (c == '}') != (s.stack[depth-1] == '{') {
				s.broken(buf, lines, i, fmt.Errorf("%q at line %d does not close the open %q", c, s.line, s.open()))
				return
			}
			if s.arr && depth == 1 {
				s.elemEnd(buf, lines)
				s.stack = s.stack[:0]
				s.pos, s.mode = i+1, modeInline
				return
			}
			s.stack = s.stack[:depth-1]
			s.lastSig = i + 1
			if depth == 1 {
				s.emit(buf, lines, i+1, nil, false)
				s.pos, s.mode = i+1, modeInline
				return
			}
		case ',':
			if s.arr && depth == 1 {
				s.elemEnd(buf, lines)
			}
		default:
			s.elemStart(i, depth)
			s.lastSig = i + 1
		}
	}
	s.pos = i
}

func (s *splitter) open() byte {
	if len(s.stack) == 0 {
		return ' '
	}
	return s.stack[len(s.stack)-1]
}

// elemStart starts an element of a top-level array at buf[i].
func (s *splitter) elemStart(i, depth int) {
	if s.arr && depth == 1 && !s.elem {
		s.elem, s.over = true, false
		s.unit, s.unitLine, s.unitCol = i, s.line, i-s.lineOff
	}
	s.lastSig = i + 1
}

// elemEnd yields the element that a comma or the closing bracket ends.
func (s *splitter) elemEnd(buf []byte, lines *[]Line) {
	if s.elem {
		s.emit(buf, lines, s.lastSig, nil, false)
		s.elem = false
	}
}

// cut handles a line whose first non-blank byte, buf[i], opens a value:
// at or left of the open unit's column, the unit was cut and a new value
// (or element) starts here; the scan goes on with buf[i] in the new state.
func (s *splitter) cut(buf []byte, lines *[]Line, i int) {
	col := i - s.lineOff
	inUnit := !s.arr || (s.elem && len(s.stack) >= 2)
	if !inUnit || col > s.unitCol {
		return
	}
	s.emit(buf, lines, s.lastSig, fmt.Errorf("not closed before line %d, which starts a new JSON value: the value is cut short", s.line), false)
	if s.arr && col > s.arrCol {
		// the next element of the array
		s.stack, s.elem = s.stack[:1], false
		return
	}
	s.start(i)
}

// broken yields the unit that breaks at buf[i] and skips what remains of
// it.
func (s *splitter) broken(buf []byte, lines *[]Line, i int, err error) {
	end := i
	if buf[i] != '\n' {
		end = i + 1
	}
	if s.arr && !s.elem {
		// the array itself breaks (a bracket that closes nothing open)
		s.unit, s.unitLine, s.unitCol, s.arr = i, s.line, s.arrCol, false
	}
	s.emit(buf, lines, end, err, false)
	s.mode, s.skipCol = modeSkip, s.unitCol
	s.inStr, s.esc, s.elem = false, false, false
	s.pos = i
	if buf[i] != '\n' {
		// the rest of this line belongs to the broken value
		if j := bytes.IndexByte(buf[i:], '\n'); j >= 0 {
			s.pos = i + j
		} else {
			s.pos = len(buf)
		}
	}
}

// skip skips lines of a broken value up to a line that starts a new value
// (or the next element of the array the value was in, or the array's end).
func (s *splitter) skip(buf []byte) {
	for s.pos < len(buf) {
		if !s.lineStart {
			j := bytes.IndexByte(buf[s.pos:], '\n')
			if j < 0 {
				s.pos = len(buf)
				return
			}
			s.newLine(s.pos + j + 1)
			continue
		}
		i := s.pos
		for i < len(buf) && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r') {
			i++
		}
		if i == len(buf) {
			s.pos = i
			return
		}
		c, col := buf[i], i-s.lineOff
		switch {
		case c == '\n':
			s.newLine(i + 1)
			continue
		case col > s.skipCol, c == '}', c == ',', c == '"':
			// still inside the broken value
		case c == ']' && s.arr && col <= s.arrCol:
			// the end of the array the broken element was in
			s.pos, s.mode, s.arr = i+1, modeInline, false
			s.lineStart = false
			return
		case c == ']':
		case s.arr && col > s.arrCol:
			// the next element
			s.mode, s.stack, s.elem = modeValue, s.stack[:1], false
			s.pos, s.lineStart = i, false
			return
		default:
			s.mode, s.pos, s.arr = modeTop, s.lineOff, false
			return
		}
		s.lineStart = false
	}
}
