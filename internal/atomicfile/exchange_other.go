//go:build !linux

package atomicfile

import "errors"

// exchange: no atomic exchange of two names here; ReplaceDir renames twice.
func exchange(a, b string) error { return errors.New("no atomic exchange") }
