package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"unicode/utf8"

	"github.com/flowfence/flowfence/internal/atomicfile"
	"github.com/flowfence/flowfence/internal/escape"
)

// MaxFileBytes is the largest config file read: config.example.yaml, every
// key documented, is a few KiB.
const MaxFileBytes = 1 << 20

// readConfigFile reads the config file at path: opened without blocking
// (a FIFO or device named by mistake is refused at once, not waited on),
// confirmed a regular file by fstat, read through a limit.
func readConfigFile(path string) ([]byte, error) {
	fh, err := atomicfile.OpenRegular(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err // the caller names the file
		}
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
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
