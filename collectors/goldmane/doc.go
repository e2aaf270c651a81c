// Package goldmane reads Calico OSS (v3.30+) Goldmane flows — live from a
// `goldmane://HOST:PORT` source through Goldmane's Flows gRPC service with
// the mutual TLS Goldmane requires (List for a time window, Stream to follow
// new flows), or saved as JSON (protojson as `grpcurl` prints it, one Flow,
// FlowResult or FlowListResult per value, or the emitter's NDJSON) — and
// converts them into normalized records, one request record per Flow,
// counted with num_connections_started and keeping the reporter so that the
// learner counts a connection once; a denied flow names the enforced policy
// that denied it (Record.DeniedBy).
//
// Goldmane carries no IP addresses: pods are named by their generateName
// prefix ("frontend-6b7d9c4f5-*", the learner strips it to the workload),
// and every external peer is only "pub", "pvt" or a NetworkSet name. Such
// peers are marked Aggregated: the learner reports them and no ipBlock is
// ever invented for them.
//
// # Live windows and resume
//
// A goldmane:// source is a live window (pipeline.OpenLive): without
// --follow it lists the flows Goldmane stores (List, pages of PageSize);
// with --follow, --duration or --goldmane-follow it streams new ones
// (Stream). Like hubble://, it runs with the other live sources after every
// file, and `learn --graph` saves checkpoints with its resume cursor.
//
// Goldmane aggregates: a Flow is the connections of one FlowKey (both
// ends, port, protocol, reporter, action, policy trace) in one aggregation
// bucket, [start_time, end_time) in whole seconds. A flow is so identified
// by its start time and its key; flowfence keys the record it makes of the
// flow (RecordKey: a digest of everything the record says), which tells
// apart every pair of flows the learner would count differently. The
// cursor (Cursor) is the newest start time counted and the keys counted
// at that second, with repetitions. A resumed source asks Goldmane for
// flows from that second (start_time_gte) and drops those that started
// before it and, at it, as many of each key as were counted: each flow is
// counted once. Stream sends buckets in start order, so a followed window
// stopped at any point (a checkpoint, SIGTERM) resumes exactly. List
// promises no order: a listed window resumes exactly once it completed;
// one stopped half-way resumes after the newest flow it counted, and older
// flows of that window it had not reached are not asked again (missed,
// never counted twice). Cursors of one source merge by the later start
// (the union of the keys on a tie).
package goldmane
