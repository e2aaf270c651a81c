package testsupport

import (
	"bytes"
	"log/slog"
	"sync"
)

// LogBuffer is a log sink safe for concurrent writes: what a source logs
// from its goroutines, read back by the test.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger is a text logger at level writing into the LogBuffer it returns.
func Logger(level slog.Level) (*slog.Logger, *LogBuffer) {
	var b LogBuffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: level})), &b
}
