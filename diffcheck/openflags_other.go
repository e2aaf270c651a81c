//go:build !unix

package diffcheck

// openNoFollow: no such open flags here; the listing's entry type and
// fstat before reading still reject what is not a regular file.
const openNoFollow = 0
