package hubble

// ConvertedFields names the Flow fields ConvertFlow reads, as field-mask
// paths: a GetFlows request whose field_mask lists them (learn --from
// hubble:// sends it) gets flows that convert exactly as the whole flows
// do, with less for the nodes, the relay and the learner to encode, send
// and decode. Cilium 1.19 flows carry the node's labels, ethernet and
// interface details, and the policies that allowed them; without those a
// flow is a third of its size or less.
//
// The paths are top-level fields only. Hubble applies a mask by copying
// each flow into one flow it reuses across events: a top-level field is
// set or cleared for every flow, while a nested path leaves its parent
// messages in flows that had none (and a oneof member of an earlier flow
// in place). TestConvertedFields checks that masking changes no
// conversion and that each listed field changes some.
func ConvertedFields() []string {
	return []string{
		"time", "uuid", "node_name",
		"verdict", "drop_reason", "drop_reason_desc", "egress_denied_by", "ingress_denied_by",
		"Type", "event_type",
		"IP", "l4", "l7",
		"source", "destination", "source_names", "destination_names",
		"is_reply", "reply",
	}
}
