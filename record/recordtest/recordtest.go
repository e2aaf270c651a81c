// Package recordtest holds test helpers for record producers: the check
// that a decoder keeps the record.Endpoint.ID contract.
package recordtest

import (
	"fmt"
	"reflect"

	"github.com/flowfence/flowfence/record"
)

// IDLedger remembers every endpoint ID it was shown, with the identity
// fields of the first endpoint that carried it. The zero value is ready.
type IDLedger struct {
	ids map[*record.EndpointID]record.Endpoint
}

// Check checks the Endpoint.ID contract on rec's endpoints (endpoints
// with one ID have equal identity fields and the same label maps) and
// clears the IDs, so that rec can then be compared with a record of a
// decoder that sets none.
func (m *IDLedger) Check(rec *record.Record) error {
	if m.ids == nil {
		m.ids = map[*record.EndpointID]record.Endpoint{}
	}
	for _, ep := range []*record.Endpoint{&rec.Src, &rec.Dst} {
		epID := ep.ID
		if epID == nil {
			continue
		}
		id := *ep
		id.IP, id.Port, id.Names, id.ID = record.Endpoint{}.IP, 0, nil, nil
		if prev, ok := m.ids[epID]; ok {
			if !reflect.DeepEqual(prev, id) || !sameMap(prev.Labels, id.Labels) || !sameMap(prev.NamespaceLabels, id.NamespaceLabels) {
				return fmt.Errorf("two endpoints share an ID but differ:\n%+v\n%+v", prev, id)
			}
		} else {
			m.ids[epID] = id
		}
		ep.ID = nil
	}
	return nil
}

// Len is how many distinct IDs the ledger saw.
func (m *IDLedger) Len() int { return len(m.ids) }

func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
