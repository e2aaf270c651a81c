package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/learner"
)

// AggregateOptions configure an aggregator.
type AggregateOptions struct {
	// URL is nats://HOST:PORT[/STREAM][?cluster=GLOB&consumer=NAME&ack-wait=DURATION].
	URL string
	// Durable: a durable consumer whose acknowledgements follow the saved
	// graph (learn --graph); otherwise an ordered consumer reads the
	// stream from its start and acknowledges nothing (generate).
	Durable bool
	// Follow keeps reading; otherwise the aggregator stops once it has
	// merged everything the stream holds for it.
	Follow bool
	// SaveEvery bounds the time between saves while deltas come (the
	// consumer's ack wait bounds it too).
	SaveEvery time.Duration
	// PerCluster also keeps each cluster's graph apart (ClusterGraphs:
	// generate --fleet reports what only one cluster saw).
	PerCluster bool
	Options
}

// Aggregator merges the deltas of the clusters its glob matches.
type Aggregator struct {
	o        AggregateOptions
	url      string
	stream   string
	glob     string
	consumer string
	ackWait  time.Duration
	cursor   map[string]Position // cluster/epoch → last merged
	// gaps holds, per cluster/epoch, since when a later part waits for
	// one before it that has not come back yet
	gaps     map[string]time.Time
	merger   *learner.Merger
	clusters map[string]*learner.Merger // PerCluster: each cluster's graph
	// Merged counts the parts merged, Skipped those already merged
	// (redelivered or republished) or of other clusters, Held the
	// deliveries of parts that came before a part preceding them.
	Merged, Skipped, Held int
	Edges                 int // edges merged (counted per part)
}

// NewAggregator parses the URL and reads the cursor base holds.
func NewAggregator(o AggregateOptions, base *learner.Graph) (*Aggregator, error) {
	p, err := parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("--from %w", err)
	}
	q := p.Query()
	a := &Aggregator{o: o, url: Redact(o.URL), stream: streamOf(p), glob: q.Get("cluster"), consumer: q.Get("consumer"), ackWait: 30 * time.Second}
	for k := range q {
		if k != "cluster" && k != "consumer" && k != "ack-wait" {
			return nil, fmt.Errorf("--from %s: unknown parameter %q (cluster, consumer, ack-wait)", a.url, k)
		}
	}
	if a.glob == "" {
		a.glob = "*"
	}
	if _, err := path.Match(a.glob, ""); err != nil {
		return nil, fmt.Errorf("--from %s: cluster=%s: %w", a.url, a.glob, err)
	}
	if s := q.Get("ack-wait"); s != "" {
		if a.ackWait, err = time.ParseDuration(s); err != nil || a.ackWait < time.Second {
			return nil, fmt.Errorf("--from %s: ack-wait=%s: a duration of at least 1s", a.url, s)
		}
	}
	if a.consumer == "" {
		h := sha256.Sum256([]byte(a.glob))
		a.consumer = "flowfence-" + hex.EncodeToString(h[:6])
	}
	a.cursor = positions(base, aggregateCursorName(a.stream))
	return a, nil
}

// Name names the source in messages.
func (a *Aggregator) Name() string { return a.url }

// filterSubject is the server-side filter: one subject for a plain name,
// every cluster's when the glob has wildcards (subjects match whole
// tokens only; the glob is applied here).
func (a *Aggregator) filterSubject() string {
	if strings.ContainsAny(a.glob, `*?[\`) {
		return SubjectPrefix + ">"
	}
	return Subject(a.glob)
}

// Run merges the deltas into g, calling save (which writes g) before it
// acknowledges what it merged. A delta at or before the cursor is
// acknowledged and skipped. Each lineage is merged in order: a part that
// arrives before one preceding it (delivered to a fetch that ended before
// it was read, that one comes back after the ack wait) is handed back to
// the server to come again; a part that stays missing for three ack
// waits ends the run with an error naming it, after what was merged is
// saved.
func (a *Aggregator) Run(ctx context.Context, g *learner.Graph, save func() error) error {
	p, _ := parse(a.o.URL)
	nc, err := connect(p, a.o.Options, "flowfence aggregate "+a.glob)
	if err != nil {
		return fmt.Errorf("--from %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	st, err := js.Stream(ctx, a.stream)
	if err != nil {
		return fmt.Errorf("--from %s: stream %s: %w", a.url, a.stream, err)
	}
	var cons jetstream.Consumer
	if a.o.Durable {
		cons, err = st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable: a.consumer, FilterSubject: a.filterSubject(), AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: a.ackWait, MaxAckPending: 100000, DeliverPolicy: jetstream.DeliverAllPolicy,
			Description: "flowfence aggregator of clusters " + a.glob,
		})
	} else {
		cons, err = st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{a.filterSubject()}})
	}
	if err != nil {
		return fmt.Errorf("--from %s: consumer %s: %w", a.url, a.consumer, err)
	}
	every := a.o.SaveEvery
	if every <= 0 || every > a.ackWait/2 {
		every = a.ackWait / 2
	}
	// each part costs what it brings, not the size of g (learner.Merger);
	// a later Run into the same graph goes on with the same Merger
	if a.merger == nil || a.merger.Graph() != g {
		a.merger = learner.NewMerger(g)
	}
	m := a.merger
	var unacked []jetstream.Msg
	var parts []clusterPart
	lastSave := time.Now()
	commit := func() error {
		if len(unacked) == 0 {
			return nil
		}
		for i, part := range parts {
			m.Merge(part.g)
			if a.o.PerCluster {
				if a.clusters == nil {
					a.clusters = map[string]*learner.Merger{}
				}
				cm := a.clusters[part.cluster]
				if cm == nil {
					cm = learner.NewMerger(learner.NewGraph())
					a.clusters[part.cluster] = cm
				}
				cm.Merge(part.g)
			}
			parts[i] = clusterPart{}
		}
		parts = parts[:0]
		setPositions(g, aggregateCursorName(a.stream), a.cursor)
		if save != nil {
			if err := save(); err != nil {
				return err
			}
		}
		for _, m := range unacked {
			if a.o.Durable {
				_ = m.Ack() // a lost ack is a redelivery, skipped by the cursor
			}
		}
		unacked = unacked[:0]
		lastSave = time.Now()
		return nil
	}
	for {
		if ctx.Err() != nil {
			return commit()
		}
		wait := time.Second
		if !a.o.Follow {
			wait = 200 * time.Millisecond
		}
		batch, err := cons.Fetch(512, jetstream.FetchMaxWait(wait))
		if err != nil {
			if ctx.Err() != nil {
				return commit()
			}
			return fmt.Errorf("--from %s: %w", a.url, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			cluster, part, held, err := a.take(m)
			if err != nil {
				return err
			}
			if held {
				_ = m.NakWithDelay(time.Second)
				continue
			}
			if part != nil {
				parts = append(parts, clusterPart{cluster, part})
			}
			unacked = append(unacked, m)
		}
		if err := a.missing(); err != nil {
			if cerr := commit(); cerr != nil {
				return cerr
			}
			return err
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			if lg := a.o.Logger; lg != nil {
				lg.Warn("NATS fetch failed; fetching again", "stream", a.stream, "err", err)
			}
		}
		if n == 0 || time.Since(lastSave) >= every {
			if err := commit(); err != nil {
				return err
			}
		}
		if n == 0 {
			if !a.o.Follow && len(a.gaps) == 0 {
				done, err := a.drained(ctx, cons)
				if err != nil {
					return err
				}
				if done {
					return nil
				}
			}
		}
	}
}

// drained reports whether the consumer has nothing left to deliver (nor
// anything delivered to a previous run and not acknowledged).
func (a *Aggregator) drained(ctx context.Context, cons jetstream.Consumer) (bool, error) {
	info, err := cons.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("--from %s: consumer: %w", a.url, err)
	}
	return info.NumPending == 0 && (!a.o.Durable || info.NumAckPending == 0), nil
}

// take returns one message's part unless the cursor says it was merged
// (nil then), and advances the cursor; held says the part comes after one
// not merged yet, and is neither merged nor to be acknowledged.
func (a *Aggregator) take(m jetstream.Msg) (cluster string, part *learner.Graph, held bool, err error) {
	msg, part, err := Decode(m.Data())
	if err != nil {
		meta, _ := m.Metadata()
		seq := uint64(0)
		if meta != nil {
			seq = meta.Sequence.Stream
		}
		return "", nil, false, fmt.Errorf("--from %s: stream %s message %d: %w", a.url, a.stream, seq, err)
	}
	if ok, _ := path.Match(a.glob, msg.Cluster); !ok || Subject(msg.Cluster) != m.Subject() {
		a.Skipped++
		return "", nil, false, nil
	}
	key := lineageKey(msg.Cluster, msg.Epoch)
	pos := Position{Seq: msg.Seq, Part: msg.Part, Parts: msg.Parts}
	if !pos.After(a.cursor[key]) {
		a.Skipped++
		return "", nil, false, nil
	}
	if !pos.Follows(a.cursor[key]) {
		a.Held++
		if a.gaps == nil {
			a.gaps = map[string]time.Time{}
		}
		if _, ok := a.gaps[key]; !ok {
			a.gaps[key] = time.Now()
		}
		return "", nil, true, nil
	}
	delete(a.gaps, key)
	a.cursor[key] = pos
	a.Merged++
	a.Edges += len(part.Edges) + len(part.Denied)
	return msg.Cluster, part, false, nil
}

// missing is the error of a part that later parts have waited for longer
// than three ack waits: the stream no longer holds it (removed by its
// limits) or no server delivers it.
func (a *Aggregator) missing() error {
	for key, since := range a.gaps {
		if time.Since(since) < 3*a.ackWait {
			continue
		}
		cluster, epoch := splitLineage(key)
		p := a.cursor[key]
		want := "sequence 1 part 1"
		if p.Seq > 0 {
			want = fmt.Sprintf("the part after sequence %d part %d", p.Seq, p.Part)
		}
		return fmt.Errorf("--from %s: stream %s, cluster %s epoch %s: %s has not come for %s while later deltas did (removed by the stream's limits?); what came before it is merged and saved, later deltas stay in the stream", a.url, a.stream, escape.Terminal(cluster), escape.Terminal(epoch), want, time.Since(since).Round(time.Second))
	}
	return nil
}

// Clusters returns the clusters merged so far (from the cursor).
func (a *Aggregator) Clusters() []string {
	seen := map[string]bool{}
	var out []string
	for k := range a.cursor {
		c, _ := splitLineage(k)
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// clusterPart is a part to merge and the cluster that sent it.
type clusterPart struct {
	cluster string
	g       *learner.Graph
}

// ClusterGraphs returns each cluster's graph merged by Run (PerCluster;
// nil otherwise), keyed by cluster name.
func (a *Aggregator) ClusterGraphs() map[string]*learner.Graph {
	if a.clusters == nil {
		return nil
	}
	out := make(map[string]*learner.Graph, len(a.clusters))
	for c, m := range a.clusters {
		out[c] = m.Graph()
	}
	return out
}
