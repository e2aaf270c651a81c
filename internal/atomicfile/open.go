package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
)

// OpenRegular opens path for reading when it is a regular file (a link to
// one is followed): opened without blocking, so that a FIFO or device
// named by mistake is refused at once instead of hanging the run, and
// confirmed by fstat. For the files flowfence writes and reads back
// (graphs).
func OpenRegular(path string) (*os.File, error) {
	fh, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		fh.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%s, not a regular file", kind(st.Mode()))}
	}
	return fh, nil
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
