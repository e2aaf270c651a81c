// Package hubblerelay reads flows live from Hubble Relay (or a Hubble
// server) over observer.GetFlows, for an observation window: a duration
// (follow and stop), since/until (what the relays still buffer), or until
// interrupted. It converts flows with the same code as the JSON reader
// (hubble.ConvertResponse), filters on the server (namespaces, verdicts)
// and asks only for the fields the conversion reads (field_mask:
// hubble.ConvertedFields), reconnects with bounded exponential backoff
// when the stream breaks, resuming from the last flow counted without
// counting any flow twice (Cursor / Replay: cursor.go), and reports what
// the window lacks: events the relay said it lost, reconnect gaps, and a
// window the nodes' ring buffers no longer cover.
//
// A stream is received on one goroutine and decoded and learned on another
// (handoff.go), so that gRPC's receive path runs beside the work on the
// flows. The wire decoder (decode.go) reads only the GetFlows fields that
// hubble.ConvertFlow uses, straight from the protobuf bytes, and converts
// each distinct endpoint encoding once; identity rules are applied per
// endpoint template. Stall detection asks ServerStatus before calling a
// silent followed window stalled, and a window cut short is kept and
// reported (ErrCutShort, Report.CutShort).
//
// A window can take one shard of the relay's nodes (Options.Shard, learn
// --shard I/N; shard.go): ShardOf gives each node, by name, to one of N
// shards; the window lists the nodes (GetNodes) on connecting and on every
// reconnect and adds its nodes' node_name patterns (NodePattern: exact,
// CLUSTER/NODE) to every whitelist filter. A followed window lists them
// again every ShardRelist and, when its nodes change, opens the stream
// again with the new filter, from the cursor — and from the window's start
// for a node it took, whose flows the cursor never covered. Every node is
// in one shard and every flow is observed by one node, so the shards'
// graphs merge into the whole relay's.
package hubblerelay
