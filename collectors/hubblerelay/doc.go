// Package hubblerelay reads flows live from Hubble Relay (or a Hubble
// server) over observer.GetFlows, for an observation window: a duration
// (follow and stop), since/until (what the relays still buffer), or until
// interrupted. It converts flows with the same code as the JSON reader
// (hubble.ConvertResponse), filters on the server (namespaces, verdicts),
// reconnects with bounded exponential backoff when the stream breaks,
// resuming from the last flow counted without counting any flow twice
// (Cursor / Replay: cursor.go), and reports what the window lacks:
// events the relay said it lost, reconnect gaps, and a window the nodes'
// ring buffers no longer cover.
//
// The wire decoder (decode.go) reads only the GetFlows fields that
// hubble.ConvertFlow uses, straight from the protobuf bytes, and converts
// each distinct endpoint encoding once; identity rules are applied per
// endpoint template. Stall detection asks ServerStatus before calling a
// silent followed window stalled, and a window cut short is kept and
// reported (ErrCutShort, Report.CutShort).
package hubblerelay
