package diffcheck

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/internal/escape"
)

// Default bounds of what ReadTree reads. A generated policy file is a few
// KiB and a tree of 10 000 policies about 20 MiB: the bounds only stop a
// tree that is not a policy tree (a huge file, a link to /dev/zero) from
// taking the memory of the CI runner.
const (
	DefaultMaxFileBytes = 8 << 20
	DefaultMaxTreeBytes = 256 << 20
)

// ReadOptions bound what ReadTreeWith reads; a zero field takes its
// default.
type ReadOptions struct {
	// MaxFileBytes is the largest policy file read (DefaultMaxFileBytes).
	MaxFileBytes int64
	// MaxTreeBytes is the most read from all policy files together
	// (DefaultMaxTreeBytes).
	MaxTreeBytes int64
}

func (o ReadOptions) withDefaults() ReadOptions {
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.MaxTreeBytes <= 0 {
		o.MaxTreeBytes = DefaultMaxTreeBytes
	}
	return o
}

// snippetBytes is the most of one quoted value from a file that an error
// repeats; detailBytes bounds a decoder's whole message.
const (
	snippetBytes = 64
	detailBytes  = 240
)

// treeReader finds, opens and reads the policy files of a --policies
// directory: regular files only, inside the directory, within the bounds.
//
// The directory named on the command line is followed when it is a
// symbolic link (`--policies ./policies` pointing at a checkout is what a
// user expects). Inside it, a symbolic link, FIFO, device or socket is an
// error, not skipped: a namespace directory or policy file behind a link
// would otherwise silently be left out of the check (and a namespace with
// no policy admits everything, so verify would pass), the tree flowfence
// writes never holds one, and a link in a reviewed tree is where a hostile
// change would hide (/dev/zero, a FIFO, /etc/passwd). Hidden entries (.git,
// editor lock links such as .#a.yaml) are never read: hidden directories
// and hidden entries that are not regular files are skipped.
//
// Files are opened through an os.Root (no path component may lead out of
// the directory, even if the tree changes while it is read), without
// following a final link and without blocking (O_NOFOLLOW|O_NONBLOCK where
// the system has them), and confirmed a regular file by fstat before a
// byte is read; reads go through a limit, so memory stays bounded whatever
// the file claims or becomes.
type treeReader struct {
	dir   string // as the user named it
	root  *os.Root
	opts  ReadOptions
	total int64 // bytes read so far
}

// walkPolicyFiles calls visit with every policy file (isPolicyFile) under
// dir, in lexical order of path, with its slash-separated path relative to
// dir and its content. skipDir says which directories (relative, slash-
// separated) not to enter. Errors name --policies, the directory and the
// file.
func walkPolicyFiles(dir string, opts ReadOptions, skipDir func(rel string) bool, visit func(rel string, data []byte) error) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("--policies %s: %w", escape.Terminal(dir), err)
	}
	defer root.Close()
	r := &treeReader{dir: dir, root: root, opts: opts.withDefaults()}
	return r.walk(".", skipDir, visit)
}

func (r *treeReader) walk(rel string, skipDir func(string) bool, visit func(string, []byte) error) error {
	d, err := r.root.Open(filepath.FromSlash(rel))
	if err != nil {
		return r.errorf(rel, "%v", unwrapPath(err))
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return r.errorf(rel, "%v", unwrapPath(err))
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, e := range entries {
		name := e.Name()
		child := path.Join(rel, name)
		hidden := strings.HasPrefix(name, ".")
		switch t := e.Type(); {
		case t.IsDir():
			if hidden || skipDir(child) {
				continue
			}
			if err := r.walk(child, skipDir, visit); err != nil {
				return err
			}
		case t.IsRegular():
			if !isPolicyFile(name) {
				continue
			}
			data, err := r.read(child)
			if err != nil {
				return err
			}
			if err := visit(child, data); err != nil {
				return err
			}
		case hidden:
			// never read: .#a.yaml, an editor's lock link
		default:
			return r.notRegular(child, t)
		}
	}
	return nil
}

// read returns the content of the regular file rel, within the bounds.
func (r *treeReader) read(rel string) ([]byte, error) {
	f, err := r.root.OpenFile(filepath.FromSlash(rel), os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		return nil, r.errorf(rel, "%v", unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, r.errorf(rel, "%v", unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		// replaced between listing and opening
		return nil, r.notRegular(rel, st.Mode().Type())
	}
	limit := min(r.opts.MaxFileBytes, r.opts.MaxTreeBytes-r.total)
	n := st.Size()
	if n <= limit {
		data, err := readAtMost(f, n, limit)
		if err != nil {
			return nil, r.errorf(rel, "%v", unwrapPath(err))
		}
		if int64(len(data)) <= limit {
			r.total += int64(len(data))
			return data, nil
		}
		n = int64(len(data)) // grew while read: judged on what was read
	}
	if n > r.opts.MaxFileBytes {
		return nil, r.errorf(rel, "larger than %s: not a policy file (a generated one is a few KiB)", sizeString(r.opts.MaxFileBytes))
	}
	return nil, r.errorf(rel, "the policy files read reach %s with this one: not a policy tree (a generated one of 10 000 policies is about 20 MiB)", sizeString(r.opts.MaxTreeBytes))
}

// readAtMost reads f to its end or to limit+1 bytes, whichever comes first,
// into one buffer sized from the size fstat reported.
func readAtMost(f io.Reader, size, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(size, limit)+1)
	lr := io.LimitReader(f, limit+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(int(limit+1)-len(buf), max(len(buf), 512)))
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (r *treeReader) notRegular(rel string, t fs.FileMode) error {
	what := "not a regular file"
	switch {
	case t&fs.ModeSymlink != 0:
		return r.errorf(rel, "a symbolic link: flowfence follows no link inside --policies (put the file or directory itself in the tree)")
	case t&fs.ModeNamedPipe != 0:
		what = "a FIFO"
	case t&fs.ModeSocket != 0:
		what = "a socket"
	case t&fs.ModeDevice != 0:
		what = "a device"
	}
	return r.errorf(rel, "%s: a policy tree holds only directories and regular files", what)
}

// errorf is an error about rel (slash-separated, relative to the tree)
// naming --policies and the directory; both names are escaped.
func (r *treeReader) errorf(rel, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if rel == "." {
		return fmt.Errorf("--policies %s: %s", escape.Terminal(r.dir), msg)
	}
	return fmt.Errorf("--policies %s: %s: %s", escape.Terminal(r.dir), escape.Terminal(rel), msg)
}

// unwrapPath drops an fs.PathError's operation and path (an os.Root error
// names the path inside the root, which errorf already names): what is left
// is the system's reason.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// decodeError rewrites an error a YAML decoder returned for the file named
// name so that it repeats no more of the file than a short escaped
// snippet: YAML and JSON decoders and the API-server validation quote the
// offending value, key or line ("Unsupported value: \"…\"", "unknown field
// \"…\"", yaml.v2's "`…`"), and a file that is not a policy (a secret,
// /etc/passwd) must not reach a CI log through them. Every quoted value is
// cut to snippetBytes and escaped (escape.Snippet); the rest of the message
// is escaped (escape.Terminal) and cut to detailBytes.
func decodeError(name string, err error) error {
	msg := err.Error()
	prefix := name + ": "
	if rest, ok := strings.CutPrefix(msg, prefix); ok {
		msg = rest
	}
	return fmt.Errorf("%s: %s", escape.Terminal(name), boundDetail(msg))
}

// boundDetail is decodeError's treatment of a message.
func boundDetail(msg string) string {
	var b strings.Builder
	for len(msg) > 0 && b.Len() < detailBytes {
		i := strings.IndexAny(msg, "\"`")
		if i < 0 {
			b.WriteString(escape.Terminal(msg))
			break
		}
		b.WriteString(escape.Terminal(msg[:i]))
		msg = msg[i:]
		if msg[0] == '"' {
			if q, err := strconv.QuotedPrefix(msg); err == nil {
				v, _ := strconv.Unquote(q)
				b.WriteString(escape.Snippet(v, snippetBytes))
				msg = msg[len(q):]
				continue
			}
		} else if end := strings.IndexByte(msg[1:], '`'); end >= 0 {
			b.WriteString(escape.Snippet(msg[1:1+end], snippetBytes))
			msg = msg[end+2:]
			continue
		}
		// an unterminated quote: the rest is one value
		b.WriteString(escape.Snippet(msg, snippetBytes))
		msg = ""
	}
	out := b.String()
	if len(out) > detailBytes || len(msg) > 0 && b.Len() >= detailBytes {
		// cut on a rune boundary (escaped text is ASCII plus printable runes)
		cut := min(len(out), detailBytes)
		for cut > 0 && cut < len(out) && out[cut]&0xc0 == 0x80 {
			cut--
		}
		out = out[:cut] + "…"
	}
	return out
}
