// Package learner turns a stream of normalized flow records into the flow
// graph: workloads (many pods → one node), external peers by IP with the DNS
// names seen for them, reserved entities, and deduplicated edges (source,
// destination, protocol, port) with their evidence. Only requests are
// learned; replies mark connections as answered; a connection dropped by an
// existing policy and never answered is a denied attempt, kept apart.
// Graphs serialise to versioned JSON and merge associatively and
// commutatively, so windows, clusters and runs can be combined.
//
// Where the speed lives, one file each: the node cache (nodecache.go)
// resolves an endpoint by its ID (record.Endpoint.ID, mapped to the
// learner's own entry), or by (namespace, pod), to the pod's entry; a
// source node's recent out-edges sit in slots shared by its pods and found
// by 32-bit tags, each with its reporter merge state and known observing
// nodes; a node is not touched again for the same endpoint ID within the
// time span it is known to cover. Entries and slots follow cache lines
// (TestHotLayout). TestEndpointIDShortcutsAgree learns the same graph
// with and without endpoint IDs. Graphs are written by hand (graphwrite.go)
// byte-identical to encoding/json and read back within a size cap
// (graphread.go).
package learner
