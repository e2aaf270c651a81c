package flags

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestWarningsQuoteNames: a warning naming a file, a relay or an error
// from input prints it quoted with its control characters escaped (slog's
// text handler quotes any value or message that needs it): one line, no
// escape sequence reaches the terminal.
func TestWarningsQuoteNames(t *testing.T) {
	var b bytes.Buffer
	log := Logger(Env{Streams: Streams{Err: &b}}, false)
	hostile := "a\x1b]0;pwned\x07\nb\rc\u202ed"
	log.Warn("skipping a file the glob matched: "+hostile, "file", hostile, "cause", errors.New(hostile))
	out := b.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("warning spans lines: %q", out)
	}
	if strings.ContainsAny(strings.TrimSuffix(out, "\n"), "\x1b\x07\r\n\u202e") {
		t.Errorf("warning prints control characters: %q", out)
	}
}
