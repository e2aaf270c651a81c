// Package calico reads Calico Enterprise / Calico Cloud flow logs — Felix
// `flows.log` JSON lines and the same documents exported from
// Elasticsearch (`tigera_secure_ee_flows*`: one `_source` per line, search
// hits, or a whole search response) — and converts them into normalized
// records: one request record per flow-log entry, counted with num_flows,
// keeping the reporter (src/dst) so that the learner counts a connection
// once and judges a src `allow` with a dst `deny` as a denied attempt.
//
// Field meanings follow the Calico Enterprise "flow log data types"
// reference: names "-" and null IPs mean aggregation (the `*_name_aggr`
// prefix, e.g. "frontend-6b7d9c4f5-*", names the pods), endpoint types are
// wep (pod), hep (host endpoint), ns (NetworkSet) and net (pub/pvt
// networks), dest_port is the post-DNAT pod port (dest_service_port is the
// Service's and is never learned), dest_domains are names of external IPs.
// A peer without an address (pub/pvt/NetworkSet aggregates) is marked
// Aggregated and never becomes an ipBlock (the learner reports it).
//
// The fast path (fastdecode.go, eptable.go) decodes the flat Felix line
// without a JSON parser and is proved equal to DecodeDocument + Convert by
// TestFastDecodeAgrees and FuzzFastDecode. A member equal, key and value,
// to the previous line's member at the same position is taken whole, and
// so is a run of members the converter ignores (Felix's counters, process
// and TCP fields) that compared equal before: one comparison for twenty-odd
// members. A position whose member keeps changing is compared on every
// 16th line only. Workload endpoints are converted once per distinct
// (name, aggregated name, namespace, address, raw labels) into templates
// that carry their endpoint ID; the templates sit in an open-addressed table
// keyed by one hash of those bytes and verified against them, shared by a
// file's decode workers and lock-free for lookups.
package calico
