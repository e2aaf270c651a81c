// Package fleet spreads learned graphs over NATS JetStream so that many
// clusters (or shards of one) learn apart and one aggregate holds them all.
//
// A publisher (the --publish sink of `learn`) sends, at every checkpoint,
// the Delta between the graph it saved last and the one it saves now: a
// flowfence graph (versioned JSON, validated when read like any saved
// graph) of the counts that grew, the sets that gained members and the
// times that moved, such that prev.Merge(delta) equals the new graph. A
// delta larger than the server's max payload is cut into parts, each a
// graph of its own (an edge goes in exactly one part with both its nodes;
// nodes merge idempotently, so repeating one is harmless).
//
// Messages go to the subject flowfence.graph.<cluster> of a stream with a
// Nats-Msg-Id of cluster/epoch/sequence/part: a republish after a crash is
// dropped by the server within the stream's duplicate window, and past it
// by the aggregator, whose cursor records per cluster and epoch the last
// (sequence, part) merged. The epoch names one graph file's lineage of
// deltas (a new --graph file starts a new epoch at sequence 1). The shards
// of one cluster (learn --shard I/N, one --cluster) publish to the same
// subject, each its own lineage: a shard's epoch ends with
// "-shardIofN", and a publisher resumes only an epoch of its own shard, so
// shard graph files started as copies of one graph (or of the whole
// cluster's) never share an epoch — their deltas would share Nats-Msg-Ids
// and the server would drop all but one; such a publisher starts a new
// epoch from the copied graph, which its lineage published already.
//
// Crash safety of the publisher: the checkpoint first writes the deltas
// not yet acknowledged by the stream to a sidecar file (<graph>.publish),
// then the graph with its publish cursor (epoch, last sequence), then
// publishes. A restarted publisher republishes the sidecar's deltas up to
// the graph's sequence (the server de-duplicates what already arrived) and
// drops those past it (their graph was never written, so they were never
// sent). No delta is lost or counted twice.
//
// The aggregator (the nats:// source of `learn`) is a durable pull
// consumer: it merges deltas into the graph, saves the graph with its
// cursor, and only then acknowledges the messages. A redelivered message
// at or before the cursor is acknowledged and skipped. Each part is merged
// through a learner.Merger, at the cost of what it brings rather than the
// size of the fleet's graph; with PerCluster each cluster's graph is also
// kept apart (generate --fleet reports the edges only one cluster saw).
package fleet
