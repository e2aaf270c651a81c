package record

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// LabelSetKey returns a text that stands for the label set m: equal sets
// give equal keys and different sets different keys, whatever bytes the
// keys and values hold (each is written after its length, so no value can
// pass for a separator: flows may carry labels no validation has seen yet).
func LabelSetKey(m map[string]string) string {
	var sb strings.Builder
	var n [20]byte
	for _, k := range slices.Sorted(maps.Keys(m)) {
		for _, s := range [2]string{k, m[k]} {
			sb.Write(strconv.AppendInt(n[:0], int64(len(s)), 10))
			sb.WriteByte(':')
			sb.WriteString(s)
		}
	}
	return sb.String()
}
