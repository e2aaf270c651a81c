package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowfence/flowfence/internal/atomicfile"
	"github.com/flowfence/flowfence/learner"
)

// DuplicateWindow is the duplicate window of a stream the publisher
// creates: a republish of a delta within it is dropped by the server
// (past it, by the aggregator's cursor).
const DuplicateWindow = 10 * time.Minute

// PublishOptions configure a publisher.
type PublishOptions struct {
	// URL is nats://HOST:PORT[/STREAM].
	URL string
	// Cluster names the cluster the deltas describe (the subject's last token).
	Cluster string
	// GraphPath is the graph file the checkpoints write: the deltas not
	// yet acknowledged wait in GraphPath + ".publish".
	GraphPath string
	// Shard is the shard of the cluster's nodes the graph is learned from
	// ("I/N", learn --shard; "" for the whole cluster). It is part of the
	// lineage: the shards of one cluster publish lineages of their own
	// even when their graph files started as copies of one.
	Shard string
	Options
}

// Publisher publishes a delta at every save of the graph (see the
// package's doc for the crash-safety argument).
type Publisher struct {
	o       PublishOptions
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  string
	subject string
	epoch   string
	seq     uint64
	prev    *learner.Graph
	pending []pendingDelta
}

// pendingDelta is a delta written down but not yet acknowledged by the stream.
type pendingDelta struct {
	Seq  uint64   `json:"seq"`
	Msgs [][]byte `json:"msgs"`
}

// sidecar is the publisher's file of pending deltas.
type sidecar struct {
	Version int            `json:"flowfencePublish"`
	Cluster string         `json:"cluster"`
	Epoch   string         `json:"epoch"`
	Pending []pendingDelta `json:"pending"`
}

// NewPublisher connects, creates the stream when missing and resumes from
// base (the graph file as read; nil when there is none): its publish
// cursor says the epoch and the last sequence saved, the sidecar the
// deltas to send again.
func NewPublisher(ctx context.Context, o PublishOptions, base *learner.Graph) (*Publisher, error) {
	if !ValidCluster(o.Cluster) {
		return nil, fmt.Errorf("--cluster %q: a cluster name is a DNS label (lower-case letters, digits and '-', at most 63)", o.Cluster)
	}
	if o.GraphPath == "" {
		return nil, errors.New("--publish: needs --graph (the deltas are taken between the graph's checkpoints)")
	}
	p, err := parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("--publish %w", err)
	}
	stream := streamOf(p)
	if o.Shard != "" && !validShard(o.Shard) {
		return nil, fmt.Errorf("--publish: shard %q: want I/N", o.Shard)
	}
	name := "flowfence publish " + o.Cluster
	if o.Shard != "" {
		name += " shard " + o.Shard
	}
	nc, err := connect(p, o.Options, name)
	if err != nil {
		return nil, fmt.Errorf("--publish: %w", err)
	}
	pub := &Publisher{o: o, nc: nc, stream: stream, subject: Subject(o.Cluster), prev: learner.NewGraph()}
	if pub.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("--publish: %w", err)
	}
	if err := ensureStream(ctx, pub.js, stream, o.Replicas); err != nil {
		nc.Close()
		return nil, fmt.Errorf("--publish %s: %w", Redact(o.URL), err)
	}
	if err := pub.resume(base); err != nil {
		nc.Close()
		return nil, err
	}
	if err := pub.flush(ctx); err != nil && o.Logger != nil {
		o.Logger.Warn("deltas of the last run not published yet; they are sent again at the next checkpoint", "err", err)
	}
	return pub, nil
}

func streamOf(p interface{ EscapedPath() string }) string {
	s := p.EscapedPath()
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	if s == "" {
		return DefaultStream
	}
	return s
}

// ensureStream creates the stream of every cluster's subject when missing.
func ensureStream(ctx context.Context, js jetstream.JetStream, name string, replicas int) error {
	if _, err := js.Stream(ctx, name); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{SubjectPrefix + ">"}, Storage: jetstream.FileStorage,
		Replicas: max(replicas, 1), Duplicates: DuplicateWindow,
		Description: "flowfence graph deltas, one subject per cluster",
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("create stream %s (replicas %d): %w", name, max(replicas, 1), err)
	}
	return nil
}

// resume reads the epoch and sequence from base and the pending deltas
// from the sidecar: those at or before the sequence were written with
// their graph and are sent again; later ones never had their graph saved.
// Only an epoch of this publisher's shard (shardTag) is resumed: a graph
// whose publish cursor is another lineage's (a shard's graph file copied
// to start another shard, a whole cluster's split into shards) starts a
// new epoch whose first delta is taken from base, which that lineage
// published already.
func (p *Publisher) resume(base *learner.Graph) error {
	var best Position
	tag, other := shardTag(p.o.Shard), false
	for epoch, pos := range positions(base, publishCursorName(p.o.Cluster)) {
		if epochShard(epoch) != tag {
			other = true
			continue
		}
		if p.epoch == "" || pos.After(best) || (pos == best && epoch < p.epoch) {
			p.epoch, best = epoch, pos
		}
	}
	if p.epoch == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		p.epoch = hex.EncodeToString(b[:]) + tag
		if other {
			p.prev = base
		}
	} else {
		p.seq, p.prev = best.Seq, base
	}
	data, err := os.ReadFile(p.sidecarPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--publish: %w", err)
	}
	var sc sidecar
	if err := json.Unmarshal(data, &sc); err != nil {
		return fmt.Errorf("--publish: %s: not a publish sidecar: %w", p.sidecarPath(), err)
	}
	if sc.Cluster != p.o.Cluster || sc.Epoch != p.epoch {
		return nil // another lineage's leftovers: its graph is not this one
	}
	for _, d := range sc.Pending {
		if d.Seq <= p.seq {
			p.pending = append(p.pending, d)
		}
	}
	return nil
}

func (p *Publisher) sidecarPath() string { return p.o.GraphPath + ".publish" }

func (p *Publisher) writeSidecar() error {
	if len(p.pending) == 0 {
		if err := os.Remove(p.sidecarPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.Marshal(&sidecar{Version: 1, Cluster: p.o.Cluster, Epoch: p.epoch, Pending: p.pending})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(p.sidecarPath(), b)
}

// Prepare is called with each graph about to be saved: it takes the delta
// since the last one saved, writes it down as pending and adds the
// publish cursor to g. commit is called once g was written (or failed to
// be): it publishes what is pending.
func (p *Publisher) Prepare(g *learner.Graph) (commit func(ctx context.Context, written error) error, err error) {
	d := Delta(p.prev, g)
	if empty(d) {
		setPositions(g, publishCursorName(p.o.Cluster), map[string]Position{p.epoch: {Seq: p.seq}})
		return func(ctx context.Context, _ error) error { return p.flush(ctx) }, nil
	}
	seq := p.seq + 1
	msgs, err := Encode(p.o.Cluster, p.epoch, seq, d, int(p.nc.MaxPayload()))
	if err != nil {
		return nil, fmt.Errorf("--publish: %w", err)
	}
	p.pending = append(p.pending, pendingDelta{Seq: seq, Msgs: msgs})
	if err := p.writeSidecar(); err != nil {
		p.pending = p.pending[:len(p.pending)-1]
		return nil, fmt.Errorf("--publish: pending deltas: %w", err)
	}
	setPositions(g, publishCursorName(p.o.Cluster), map[string]Position{p.epoch: {Seq: seq}})
	return func(ctx context.Context, written error) error {
		if written != nil {
			// the graph of this delta was not saved: it is not sent
			p.pending = p.pending[:len(p.pending)-1]
			return nil
		}
		p.seq, p.prev = seq, g
		return p.flush(ctx)
	}, nil
}

// flush publishes the pending deltas in order, each part with its
// Nats-Msg-Id, and forgets those the stream acknowledged.
func (p *Publisher) flush(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	sent := 0
	var err error
	for _, d := range p.pending {
		if err = p.publish(ctx, d); err != nil {
			break
		}
		sent++
	}
	p.pending = slices.Delete(p.pending, 0, sent)
	if sent > 0 {
		if werr := p.writeSidecar(); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return fmt.Errorf("--publish %s: %d deltas wait to be sent (kept in %s): %w", Redact(p.o.URL), len(p.pending), p.sidecarPath(), err)
	}
	return nil
}

func (p *Publisher) publish(ctx context.Context, d pendingDelta) error {
	for i, m := range d.Msgs {
		id := fmt.Sprintf("%s/%s/%d/%d", p.o.Cluster, p.epoch, d.Seq, i+1)
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := p.js.Publish(pctx, p.subject, m, jetstream.WithMsgID(id), jetstream.WithExpectStream(p.stream))
		cancel()
		if err != nil {
			return fmt.Errorf("delta %s: %w", id, err)
		}
	}
	return nil
}

// Close closes the connection.
func (p *Publisher) Close() { p.nc.Close() }

// Sequence is the last sequence saved (tests, reports).
func (p *Publisher) Sequence() uint64 { return p.seq }

func empty(d *learner.Graph) bool {
	return len(d.Nodes) == 0 && len(d.Edges) == 0 && len(d.Denied) == 0 && len(d.Unaddressed) == 0 && len(d.DNS) == 0 &&
		reflect.DeepEqual(d.Stats, learner.Stats{})
}

// PendingBytes returns the bytes and messages of the deltas waiting to be
// sent (benchmarks: bytes on the wire per delta).
func (p *Publisher) PendingBytes() (bytes, msgs int) {
	for _, d := range p.pending {
		for _, m := range d.Msgs {
			bytes += len(m)
			msgs++
		}
	}
	return bytes, msgs
}

// shardTag is what the epoch of a shard's publisher ends with:
// "-shard" I "of" N ("" for a whole cluster's).
func shardTag(shard string) string {
	if shard == "" {
		return ""
	}
	i, n, _ := strings.Cut(shard, "/")
	return "-shard" + i + "of" + n
}

// epochShard is the shard tag an epoch ends with ("" for none).
func epochShard(epoch string) string {
	if i := strings.Index(epoch, "-shard"); i >= 0 {
		return epoch[i:]
	}
	return ""
}

// validShard reports whether s is I/N in decimal digits.
func validShard(s string) bool {
	i, n, ok := strings.Cut(s, "/")
	digits := func(x string) bool {
		return x != "" && strings.Trim(x, "0123456789") == ""
	}
	return ok && digits(i) && digits(n)
}
