//go:build !unix

package config

// openNonblock: no such flag here; fstat still refuses what is not a
// regular file before it is read.
const openNonblock = 0
