package flags

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowfence/flowfence/collectors/hubblerelay"
	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/escape"
	"github.com/flowfence/flowfence/pipeline"
)

// AddLive adds the flags of live sources (hubble://HOST:PORT,
// hubble+tls://HOST:PORT; the window and checkpoints also for
// goldmane://): the observation window, checkpoints,
// server-side filters, reconnects and TLS (named as the Hubble CLI names
// them).
func AddLive(fs *pflag.FlagSet) {
	fs.String(config.KeyDuration, "", "hubble:// and goldmane:// sources: observe live for this long (e.g. 30m, 24h), then stop and write")
	fs.Bool(config.KeyFollow, false, "hubble:// and goldmane:// sources: observe live until interrupted (Ctrl-C / SIGTERM end the window and still write)")
	fs.String(config.KeyCheckpointInterval, config.DefaultCheckpointInterval.String(), "learn from hubble:// and goldmane:// sources: save the --graph file (with a resume cursor) this often")
	fs.StringSlice(FlagNamespace, nil, "hubble:// sources: only flows from or to pods of these namespaces (server-side filter, repeatable)")
	fs.StringSlice(FlagNotNamespace, nil, "hubble:// sources: drop flows whose both ends are pods of these namespaces (server-side filter)")
	fs.StringSlice(FlagVerdict, nil, "hubble:// sources: only flows with these verdicts: FORWARDED, DROPPED, AUDIT, … (server-side filter)")
	fs.Int(FlagMaxReconnects, config.DefaultMaxReconnects, "hubble:// sources: give up after this many reconnects in a row that bring nothing (-1 never); giving up after flows came cuts the window short: the graph/tree is still written, ROLLOUT.md says so and the exit status is 4")
	fs.String(FlagIdleTimeout, config.DefaultIdleTimeout.String(), "hubble:// and goldmane:// sources: a --since/--until (or everything-buffered) stream that sends nothing this long is stalled (hubble://: cancelled and resumed). With --follow/--duration/--goldmane-follow a quiet cluster sends nothing, so silence this long only makes flowfence ask the server for its status; one that does not answer is stalled (0 turns the check off)")
	fs.StringSlice(FlagTLSCACertFiles, nil, "hubble+tls:// sources: CA certificates (PEM) the relay's certificate must chain to (default: system roots)")
	fs.String(FlagTLSClientCertFile, "", "hubble+tls:// sources: client certificate (PEM) for mTLS")
	fs.String(FlagTLSClientKeyFile, "", "hubble+tls:// sources: client key (PEM) for mTLS")
	fs.String(FlagTLSServerName, "", "hubble+tls:// sources: name the relay's certificate must carry (e.g. ui.hubble-relay.cilium.io behind a port-forward)")
	fs.Bool(FlagTLSAllowInsecure, false, "hubble+tls:// sources: DO NOT verify the relay's certificate (warned about on every run)")
}

// AddShard adds --shard I/N, learn's alone: a tree generated or judged
// from one shard's flows would call the other shards' flows unobserved.
func AddShard(fs *pflag.FlagSet) {
	fs.String(FlagShard, "", "hubble:// sources: learn only the relay's nodes whose name hashes to shard `I/N`, I of N counted from 0 (0 <= I < N; run --shard 0/N … --shard N-1/N, each into its own --graph, and merge the graphs, or --publish each with the same --cluster: together they learn the whole cluster)")
}

// CheckShard refuses a shard (--shard, or hubble.shard in the config
// file) where it cannot be honoured: with a --from that is not a Hubble
// Relay, whose flows every shard would count, or, in a verb without
// --shard, with a --from that is one (a tree from one shard would deny the
// flows of the others; the other verbs ignore the setting).
func CheckShard(c *config.Config, cmd *cobra.Command) error {
	if c.Live.ShardCount == 0 {
		return nil
	}
	shard := fmt.Sprintf("--shard %d/%d", c.Live.ShardIndex, c.Live.ShardCount)
	own := cmd.Flags().Lookup(FlagShard) != nil
	for _, from := range c.From {
		relay := strings.HasPrefix(from, hubblerelay.Scheme) || strings.HasPrefix(from, hubblerelay.SchemeTLS)
		switch {
		case own && !relay:
			return fmt.Errorf("%s: shards a Hubble Relay's nodes; --from %s is not a hubble:// or hubble+tls:// source (every shard would learn all of it)", shard, escape.Terminal(from))
		case !own && relay:
			return fmt.Errorf("%s (%s in the config file): only learn takes one shard of a relay's nodes; learn each shard into a graph and %s from the merged graphs", shard, config.KeyHubbleShard, cmd.Name())
		}
	}
	return nil
}

// LiveOptions builds the live-source options from the config.
func LiveOptions(c *config.Config, env Env, log *slog.Logger) pipeline.LiveOptions {
	l := c.Live
	return pipeline.LiveOptions{
		Relay: hubblerelay.Options{
			TLS: hubblerelay.TLSOptions{CAFiles: l.TLSCACertFiles, CertFile: l.TLSClientCertFile, KeyFile: l.TLSClientKeyFile,
				ServerName: l.TLSServerName, AllowInsecure: l.TLSAllowInsecure},
			Since: c.Since, Until: c.Until, Follow: l.Follow, Duration: l.Duration,
			Namespaces: l.Namespaces, NotNamespaces: l.NotNamespaces, Verdicts: l.Verdicts,
			MaxReconnects: l.MaxReconnects, IdleTimeout: idleTimeout(l.IdleTimeout), Logger: log,
			Shard: hubblerelay.Shard{Index: l.ShardIndex, Count: l.ShardCount},
		},
		CheckpointInterval: l.CheckpointInterval,
		Progress:           Progress(env, c.Quiet),
		GCPercent:          pipeline.LiveGC(),
	}
}

// idleTimeout maps the flag (0 = off) to hubblerelay.Options (0 = default,
// negative = off).
func idleTimeout(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// Progress returns the progress printer of live windows on stderr: one
// updating line on a terminal, a plain line every progressLogEvery
// otherwise, nothing when quiet.
func Progress(env Env, quiet bool) func(pipeline.Progress) {
	if quiet || env.Streams.Err == nil {
		return nil
	}
	return newProgressPrinter(env.Streams.Err, isTerminal(env.Streams.Err), time.Now).print
}

// progressLogEvery is the period of plain progress lines (not a terminal).
const progressLogEvery = 10 * time.Second

type progressPrinter struct {
	w        io.Writer
	terminal bool
	now      func() time.Time
	last     time.Time
}

func newProgressPrinter(w io.Writer, terminal bool, now func() time.Time) *progressPrinter {
	return &progressPrinter{w: w, terminal: terminal, now: now, last: now()}
}

func (p *progressPrinter) print(pr pipeline.Progress) {
	line := ProgressLine(pr)
	switch {
	case p.terminal && pr.Done:
		fmt.Fprintf(p.w, "\r\033[K%s\n", line)
	case p.terminal:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	case pr.Done || p.now().Sub(p.last) >= progressLogEvery:
		p.last = p.now()
		fmt.Fprintln(p.w, line)
	}
}

// ProgressLine formats a progress report.
func ProgressLine(p pipeline.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "live: %s flows (%s/s), %d edges, %d nodes, %s elapsed", group(p.Flows), group(uint64(p.Rate+0.5)), p.Edges, p.Nodes, p.Elapsed.Round(time.Second))
	if p.Remaining > 0 {
		fmt.Fprintf(&b, ", %s left", p.Remaining.Round(time.Second))
	}
	if p.Checkpoints > 0 {
		fmt.Fprintf(&b, ", %d checkpoints", p.Checkpoints)
	}
	if p.Done {
		b.WriteString(" — window closed")
	}
	return b.String()
}

// group writes n with thousands separators.
func group(n uint64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && f.Name() != os.DevNull
}
