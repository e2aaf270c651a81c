package input

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Stdin is the path that names standard input.
const Stdin = "-"

// MaxLineBytes is the longest line a reader accepts; longer lines are
// reported as malformed and skipped (a real Hubble flow is a few KiB).
const MaxLineBytes = 16 << 20

// Expand resolves a --from argument into file paths: a literal path, a glob
// (sorted), or `-`. A glob that matches nothing is an error naming it.
func Expand(arg string) ([]string, error) { return ExpandFlag("--from", arg) }

// ExpandFlag is Expand for an argument of another flag (its errors name
// flag).
func ExpandFlag(flag, arg string) ([]string, error) {
	if arg == Stdin {
		return []string{Stdin}, nil
	}
	if hasMeta(arg) {
		// a file whose name merely contains a glob character ("flows[1].json")
		// is taken literally when it exists
		if st, err := os.Stat(arg); err == nil && !st.IsDir() {
			return []string{arg}, nil
		}
	} else {
		if _, err := os.Stat(arg); err != nil {
			return nil, fmt.Errorf("%s %s: %w", flag, arg, err)
		}
		return []string{arg}, nil
	}
	matches, err := filepath.Glob(arg)
	if err != nil {
		return nil, fmt.Errorf("%s %s: bad glob: %w", flag, arg, err)
	}
	var files []string
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && !st.IsDir() {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s %s: glob matches no file", flag, arg)
	}
	sort.Strings(files)
	return files, nil
}

func hasMeta(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*', '?', '[':
			return true
		}
	}
	return false
}

// File is an opened input: decompressed when it was gzip.
type File struct {
	Name string // as given (or "stdin")
	r    *bufio.Reader
	// raw is the stream r buffers: read straight from once r holds
	// nothing (see Lines.ReadBatch)
	raw  io.Reader
	c    []io.Closer
	Gzip bool
	// digest hashes the stored bytes as they are read (Digest)
	digest *digestReader
}

// Open opens path (or stdin when path is "-"), transparently decompressing gzip.
func Open(path string, stdin io.Reader) (*File, error) {
	var (
		raw  io.Reader
		f    = &File{Name: path}
		stat os.FileInfo
	)
	if path == Stdin {
		if stdin == nil {
			return nil, errors.New("--from -: no standard input")
		}
		f.Name = "stdin"
		raw = stdin
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		if stat, err = fh.Stat(); err == nil && stat.IsDir() {
			fh.Close()
			return nil, fmt.Errorf("open %s: is a directory", path)
		}
		raw = fh
		f.c = append(f.c, fh)
	}
	f.digest = newDigestReader(raw)
	raw = f.digest
	br := bufio.NewReaderSize(raw, 1<<20)
	f.raw = raw
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: corrupt gzip: %w", f.Name, err)
		}
		f.c = append(f.c, zr)
		f.Gzip = true
		f.raw = gzipErrReader{zr}
		br = bufio.NewReaderSize(f.raw, 1<<20)
	}
	f.r = br
	return f, nil
}

// gzipErrReader says that a read error inside a gzip stream is one: a bare
// "unexpected EOF" or "flate: corrupt input" does not tell the user that the
// file is a damaged or truncated gzip.
type gzipErrReader struct{ r io.Reader }

func (g gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("gzip stream truncated: %w", err)
	default:
		err = fmt.Errorf("corrupt gzip: %w", err)
	}
	return n, err
}

// Peek returns up to n bytes from the start of the (decompressed) content
// without consuming them, for format detection.
func (f *File) Peek(n int) ([]byte, error) {
	b, err := f.r.Peek(n)
	if err == io.EOF || errors.Is(err, bufio.ErrBufferFull) {
		err = nil
	}
	if err != nil {
		return b, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}

// Reader returns the decompressed content stream.
func (f *File) Reader() io.Reader { return f.r }

// Close closes everything the file opened.
func (f *File) Close() error {
	var errs []error
	for i := len(f.c) - 1; i >= 0; i-- {
		errs = append(errs, f.c[i].Close())
	}
	return errors.Join(errs...)
}

// Line is one line of input. Data is only valid until the next call to Next
// unless copied.
type Line struct {
	Data []byte
	No   int
	// Last is true when this line was not terminated by a newline (it is the
	// last line of the input): a parse failure there is a truncated tail,
	// normal for a rotated file.
	Last bool
	// TooLong is true when the line exceeded MaxLineBytes (a document
	// reader's value: MaxDocumentBytes); Data then holds at most its
	// beginning.
	TooLong bool
	// Err is a document reader's diagnosis of a value it saw broken (cut
	// short, too long): the line is malformed whatever Data holds.
	Err error
}

// Lines iterates over a file's lines, one at a time (Next) or a block at
// a time (ReadBatch); one Lines is read one way only.
type Lines struct {
	r *bufio.Reader
	// raw is the stream r buffers (see ReadBatch)
	raw  io.Reader
	name string
	no   int
	buf  []byte
	err  error
	// carry is the unfinished line at the end of ReadBatch's last block
	carry []byte
	// sp splits a document reader's input into JSON values (docs.go);
	// nil for a line reader. q and qbuf are Next's batch of them, qi the
	// next one to return.
	sp   *splitter
	q    []Line
	qi   int
	qbuf []byte
}

// NewLines reads lines from f.
func NewLines(f *File) *Lines { return &Lines{r: f.r, raw: f.raw, name: f.Name} }

// NewLinesFrom reads lines from any reader (tests, stdin-like sources).
func NewLinesFrom(name string, r io.Reader) *Lines {
	return &Lines{r: bufio.NewReaderSize(r, 1<<20), raw: r, name: name}
}

// utf8BOM is the byte order mark some Windows tools put at the start of a
// text file; it is not part of the first line's content.
const utf8BOM = "\ufeff"

// Next returns the next non-blank line; ok is false at the end of input or on
// a read error (see Err).
func (l *Lines) Next() (Line, bool) {
	if l.sp != nil {
		if l.qi == len(l.q) {
			l.qbuf, l.q = l.ReadBatch(l.qbuf, l.q[:0])
			l.qi = 0
			if len(l.q) == 0 {
				return Line{}, false
			}
		}
		l.qi++
		return l.q[l.qi-1], true
	}
	for l.err == nil {
		l.buf = l.buf[:0]
		n := 0 // bytes of this line read, its newline included
		terminated := false
		var whole []byte // the line, when one read returned all of it
		for {
			frag, err := l.r.ReadSlice('\n')
			if n == 0 && err == nil {
				// the common case: the line is in the reader's buffer,
				// valid until the next read — no copy
				whole, n, terminated = frag, len(frag), true
				break
			}
			n += len(frag)
			// keep at most MaxLineBytes+1 bytes: enough to tell a line of
			// exactly MaxLineBytes plus its newline from a longer one
			if room := MaxLineBytes + 1 - len(l.buf); room > 0 {
				l.buf = append(l.buf, frag[:min(len(frag), room)]...)
			}
			if done, t := l.lineEnds(err); done {
				terminated = t
				break
			}
		}
		if n == 0 {
			continue
		}
		content := n
		if terminated {
			content-- // the newline
		}
		data := l.buf
		if whole != nil {
			data = whole
		}
		if line, ok := l.line(data, content > MaxLineBytes, terminated); ok {
			return line, true
		}
	}
	return Line{}, false
}

// line counts one line read (data: its first bytes, up to its newline at
// most) and returns it as every reader does: cut to MaxLineBytes when
// tooLong, without the byte order mark on the first line, trimmed; ok is
// false for a blank line, which is skipped.
func (l *Lines) line(data []byte, tooLong, terminated bool) (Line, bool) {
	l.no++
	if tooLong {
		data = data[:MaxLineBytes]
	}
	if l.no == 1 {
		data = bytes.TrimPrefix(data, []byte(utf8BOM))
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 && !tooLong {
		return Line{}, false
	}
	return Line{Data: data, No: l.no, Last: !terminated, TooLong: tooLong}, true
}

// readBlock is how much ReadBatch reads at once (see ReadBatch).
// carrySlack is room a batch buffer keeps beyond a block for the
// unfinished line carried over from the last block: without it, a carry
// longer than the last one would cost a new buffer (fresh pages the read
// then faults in).
const (
	readBlock  = 128 << 10
	carrySlack = 64 << 10
)

// fill appends one read of up to readBlock bytes to buf, first growing
// buf (by half its length at least, to at most maxCap) when less than a
// block is free. Once the buffered reader that detected the format holds
// nothing, it reads straight from the stream under it.
func (l *Lines) fill(buf []byte, maxCap int) ([]byte, error) {
	if cap(buf)-len(buf) < readBlock {
		nb := make([]byte, len(buf), min(len(buf)+readBlock+max(len(buf)/2, carrySlack), maxCap))
		copy(nb, buf)
		buf = nb
	}
	var n int
	var err error
	if l.raw != nil && l.r.Buffered() == 0 {
		// an empty read returns the buffered reader's pending error, if
		// any, without reading
		if _, err = l.r.Read(nil); err == nil {
			n, err = l.raw.Read(buf[len(buf):cap(buf)])
		}
	} else {
		n, err = l.r.Read(buf[len(buf):cap(buf)])
	}
	return buf[:len(buf)+n], err
}

// ReadBatch reads the next block of lines into buf (reusing its storage)
// and appends them to lines, their Data aliasing buf: the bytes are copied
// once, from the file into buf, not once more per line as with Next. Lines
// are numbered, trimmed and skipped exactly as Next does. It returns no
// line only at the end of input or on a read error (see Err).
//
// A block is readBlock bytes or a little more: small enough that a block
// and the records decoded from it stay in a core's cache while they pass
// from the reading goroutine to a decoding one and on to the consumer,
// rather than going through memory (fill: the buffered reader's 1 MiB
// buffer would be one more copy).
func (l *Lines) ReadBatch(buf []byte, lines []Line) ([]byte, []Line) {
	if l.sp != nil {
		return l.readDocs(buf, lines)
	}
	n0 := len(lines)
	buf = append(buf[:0], l.carry...)
	l.carry = l.carry[:0]
	// the first scanned bytes of buf hold no newline
	scanned := len(buf)
	for l.err == nil {
		// when buf must grow, only the unfinished line is in it
		var err error
		buf, err = l.fill(buf, math.MaxInt)
		start := 0
		for {
			i := bytes.IndexByte(buf[scanned:], '\n')
			if i < 0 {
				break
			}
			end := scanned + i
			lines = l.batchLine(lines, buf[start:end:end], true)
			start, scanned = end+1, end+1
		}
		scanned = len(buf)
		if err != nil {
			l.fail(err)
		}
		rest := buf[start:]
		switch {
		case l.err != nil:
			if len(rest) > 0 {
				lines = l.batchLine(lines, rest[:len(rest):len(rest)], false)
			}
			return buf, lines
		case len(lines) > n0:
			l.carry = append(l.carry, rest...)
			return buf[:start], lines
		case start > 0:
			// only blank lines ended: keep the unfinished one
			buf = buf[:copy(buf, rest)]
			scanned = len(buf)
		}
		if len(buf) > MaxLineBytes {
			// a line longer than any accepted: keep its beginning, drop
			// the rest up to its newline
			return l.longLine(buf, lines)
		}
	}
	return buf, lines
}

// batchLine counts one line of ReadBatch (content without its newline)
// and appends it unless blank, as Next returns it.
func (l *Lines) batchLine(lines []Line, content []byte, terminated bool) []Line {
	if line, ok := l.line(content, len(content) > MaxLineBytes, terminated); ok {
		lines = append(lines, line)
	}
	return lines
}

// longLine ends ReadBatch on a line longer than MaxLineBytes whose first
// len(buf) bytes (no newline among them) were read: it reads and drops the
// rest of the line, as Next does, and appends the line's beginning.
func (l *Lines) longLine(buf []byte, lines []Line) ([]byte, []Line) {
	for {
		_, err := l.r.ReadSlice('\n')
		if done, terminated := l.lineEnds(err); done {
			return buf, l.batchLine(lines, buf[:MaxLineBytes+1:MaxLineBytes+1], terminated)
		}
	}
}

// lineEnds says what the error of a read of a line's next fragment means:
// the line ended at its newline (done, terminated), goes on (the reader's
// buffer was full), or ended on a read error (done; l.fail is told).
func (l *Lines) lineEnds(err error) (done, terminated bool) {
	switch {
	case err == nil:
		return true, true
	case errors.Is(err, bufio.ErrBufferFull):
		return false, false
	}
	l.fail(err)
	return true, false
}

// fail ends iteration on a read error (io.EOF: a clean end), naming the
// file and the last line read.
func (l *Lines) fail(err error) {
	switch {
	case err == io.EOF:
		l.err = io.EOF
	case l.no == 0:
		l.err = fmt.Errorf("%s: %w", l.name, err)
	default:
		l.err = fmt.Errorf("%s: read after line %d: %w", l.name, l.no, err)
	}
}

// Err returns the read error that ended iteration, or nil at a clean end.
func (l *Lines) Err() error {
	if l.err == io.EOF {
		return nil
	}
	return l.err
}
