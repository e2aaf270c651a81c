package config

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"unicode/utf8"

	"github.com/flowfence/flowfence/internal/escape"
)

// MaxFileBytes is the largest config file read: config.example.yaml, every
// key documented, is a few KiB.
const MaxFileBytes = 1 << 20

// readConfigFile reads the config file at path: opened without blocking
// (a FIFO or device named by mistake is refused at once, not waited on),
// confirmed a regular file by fstat, read through a limit.
func readConfigFile(path string) ([]byte, error) {
	fh, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s, not a regular file", kind(st.Mode()))
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("larger than %d MiB: not a config file", MaxFileBytes>>20)
	}
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("larger than %d MiB: not a config file", MaxFileBytes>>20)
	}
	return data, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// boundMessage makes a parser's message inert for a terminal and short: a
// YAML or TOML error may quote the line it failed on.
func boundMessage(msg string) string {
	const most = 200
	if len(msg) <= most {
		return escape.Terminal(msg)
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return escape.Terminal(msg[:cut]) + "…"
}
