package hubblecli

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
)

// readMaybeGzip reads a file, decompressing it when it is gzip.
func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil || len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
