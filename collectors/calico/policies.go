package calico

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/flowfence/flowfence/record"
)

// RawJSON is a JSON value kept as it came: the flow log's `policies`
// field, parsed only for the records that need it (denied ones).
type RawJSON string

// UnmarshalJSON keeps the value's bytes.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	*r = RawJSON(b)
	return nil
}

// policyTrace is the `policies` field: the policies that matched the
// connection on the reporter's node, each as
// `<index>|<tier>|<namespace>/<tier>.<name>|<action>|<rule index>` (older
// versions without the rule index). Newer Calico Enterprise versions add
// enforced_policies (the policies that decided the action) and
// pending_policies (with staged policies); all_policies has both.
type policyTrace struct {
	All      []string `json:"all_policies"`
	Enforced []string `json:"enforced_policies"`
}

// DeniedBy returns the policy that denied the connection on the
// reporter's node, as Calico names it (`namespace/tier.name`, or
// `tier.name` for a global policy): the first (by index) enforced entry
// whose action is deny; staged policies enforce nothing and are passed
// over. It returns "" when the field does not name one, and when the name
// is not a valid policy name (record.ValidPolicyName): it came from a
// file, so it is never passed on unchecked.
func (r RawJSON) DeniedBy() string {
	if r == "" || r == "null" {
		return ""
	}
	var t policyTrace
	if err := json.Unmarshal([]byte(r), &t); err != nil {
		// a bare list of entries
		if json.Unmarshal([]byte(r), &t.All) != nil {
			return ""
		}
	}
	list := t.Enforced
	if len(list) == 0 {
		list = t.All
	}
	name, best, found := "", int64(math.MaxInt64), false
	for i, e := range list {
		f := strings.Split(e, "|")
		if len(f) < 4 || !strings.EqualFold(f[3], "deny") || isStaged(f[2]) {
			continue
		}
		idx, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || idx < 0 {
			idx = math.MaxInt64 - int64(len(list)) + int64(i) // unnumbered: after the numbered, in list order
		}
		if !found || idx < best {
			name, best, found = f[2], idx, true
		}
	}
	if !record.ValidPolicyName(name) {
		return ""
	}
	return name
}

// isStaged reports whether a trace entry's name is a staged policy's
// (`namespace/staged:tier.name`).
func isStaged(name string) bool {
	if _, rest, ok := strings.Cut(name, "/"); ok {
		name = rest
	}
	return strings.HasPrefix(name, "staged:")
}
