package main

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestFlowsLearned reads the flow count from what each learner prints:
// `flowfence learn`'s summary and the own learner role's line.
func TestFlowsLearned(t *testing.T) {
	tests := []struct {
		name, out string
		want      uint64
		fails     bool
	}{
		{name: "flowfence learn summary", out: "flowfence learn: 3 files\n  live:      hubble://127.0.0.1:4245: everything the relay buffers; window complete\n             200000 flows, 0 resent flows dropped, 0 events lost at the relay, 0 reconnects\n", want: 200000},
		{name: "own learner role", out: "benchlive-learner: 1000000 flows, 81234 edges\n", want: 1000000},
		{name: "no count", out: "flowfence learn: error: cannot reach Hubble Relay\n", fails: true},
		{name: "edges are not flows", out: "benchlive-learner: edges 12 flows\n", fails: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := flowsLearned(tc.out)
			if tc.fails {
				if err == nil {
					t.Fatalf("got %d, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// TestProcCPU: the CPU time /proc reports for this process grows as it
// computes.
func TestProcCPU(t *testing.T) {
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// spin for 200ms of CPU time as getrusage counts it (the machine may
	// be shared: wall time says little)
	self := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start, deadline := self(), time.Now().Add(time.Minute)
	for self()-start < 200*time.Millisecond && time.Now().Before(deadline) {
	}
	after, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("/proc says %s of CPU, getrusage %s", d, self()-start)
	}
}
