package hubblerelay

import (
	observerpb "github.com/cilium/cilium/api/v1/observer"

	"github.com/flowfence/flowfence/collectors/hubble"
	"github.com/flowfence/flowfence/record"
)

// decoder receives and converts the events of one stream.
type decoder struct{}

func newDecoder() *decoder { return &decoder{} }

func (d *decoder) recv(stream observerpb.Observer_GetFlowsClient) (*observerpb.GetFlowsResponse, error) {
	return stream.Recv()
}

func (d *decoder) convert(resp *observerpb.GetFlowsResponse, rec *record.Record) (skip string, lost uint64, ok bool) {
	return hubble.ConvertResponse(resp, rec)
}
