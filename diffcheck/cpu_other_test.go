//go:build !unix

package diffcheck_test

import "time"

// processCPU is not measured on this platform (the metric is then left out).
func processCPU() time.Duration { return 0 }
