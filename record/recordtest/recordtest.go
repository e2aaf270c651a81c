// Package recordtest holds test helpers for record producers: the check
// that a decoder keeps the record.Endpoint.Memo contract.
package recordtest

import (
	"fmt"
	"reflect"

	"github.com/flowfence/flowfence/record"
)

// MemoLedger remembers every endpoint memo it was shown, with the identity
// fields of the first endpoint that carried it. The zero value is ready.
type MemoLedger struct {
	memos map[*record.EndpointMemo]record.Endpoint
}

// Check checks the Endpoint.Memo contract on rec's endpoints (endpoints
// with one memo have equal identity fields and the same label maps) and
// clears the memos, so that rec can then be compared with a record of a
// decoder that sets none.
func (m *MemoLedger) Check(rec *record.Record) error {
	if m.memos == nil {
		m.memos = map[*record.EndpointMemo]record.Endpoint{}
	}
	for _, ep := range []*record.Endpoint{&rec.Src, &rec.Dst} {
		memo := ep.Memo
		if memo == nil {
			continue
		}
		id := *ep
		id.IP, id.Port, id.Names = record.Endpoint{}.IP, 0, nil
		id.SetMemo(nil)
		if prev, ok := m.memos[memo]; ok {
			if !reflect.DeepEqual(prev, id) || !sameMap(prev.Labels, id.Labels) || !sameMap(prev.NamespaceLabels, id.NamespaceLabels) {
				return fmt.Errorf("two endpoints share a memo but differ:\n%+v\n%+v", prev, id)
			}
		} else {
			m.memos[memo] = id
		}
		ep.SetMemo(nil)
	}
	return nil
}

// Len is how many distinct memos the ledger saw.
func (m *MemoLedger) Len() int { return len(m.memos) }

func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
