package nats

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowfence/flowfence/fleet"
)

// TestRedeliveredOutOfOrder: the first delta of a cluster is delivered to
// a fetch that never reads it (as when a fetch ends under load), so the
// server hands the aggregator's durable consumer the later deltas first
// and the first one again only after the ack wait. The aggregator merges
// the lineage in order: its graph equals the publisher's, with no delta
// skipped as "already merged".
func TestRedeliveredOutOfOrder(t *testing.T) {
	c := newCluster(t, nil)
	dir := t.TempDir()
	url := c.url(0)
	g := publish(t, dir, url, "prod-eu-1", clusterRuns["prod-eu-1"])
	if n := streamInfo(t, url, "FLOWFENCE").State.Msgs; n < 3 {
		t.Fatalf("the stream holds %d deltas, want the publisher's 3", n)
	}

	// the aggregator's durable consumer, created first so that a fetch
	// can take the first delta from it and drop it
	const consumer = "out-of-order"
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	st, err := js.Stream(ctx, "FLOWFENCE")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: consumer, FilterSubject: fleet.Subject("prod-eu-1"), AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 2 * time.Second, MaxAckPending: 100000, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	dropped := 0
	for m := range batch.Messages() {
		msg, _, err := fleet.Decode(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		if msg.Seq != 1 || msg.Part != 1 {
			t.Fatalf("the first delivery is sequence %d part %d, want the first delta", msg.Seq, msg.Part)
		}
		dropped++ // neither acknowledged nor refused: redelivered after the ack wait
	}
	if dropped != 1 {
		t.Fatalf("the fetch took %d deltas, want 1", dropped)
	}

	fleetGraph := filepath.Join(dir, "fleet.json")
	out := run(t, "learn", "--from", url+"/FLOWFENCE?cluster=prod-eu-1&consumer="+consumer+"&ack-wait=2s", "--graph", fleetGraph)
	sameGraph(t, "fleet after an out-of-order redelivery", readGraph(t, fleetGraph), readGraph(t, g))
	if t.Failed() {
		t.Logf("aggregator output:\n%s", out)
	}
}
