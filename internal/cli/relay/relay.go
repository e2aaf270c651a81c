// Package relay is the `flowfence relay` verb: serve recorded Hubble flows
// over the real observer.Observer gRPC service (a replay Hubble Relay), for
// demos without a cluster and for tests: `flowfence learn --from
// hubble://ADDR` and `hubble observe --server ADDR` both work against it.
package relay

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowfence/flowfence/collectors"
	"github.com/flowfence/flowfence/config"
	"github.com/flowfence/flowfence/internal/cli/flags"
	"github.com/flowfence/flowfence/relay"
)

// NewCommand returns the relay command.
func NewCommand(env flags.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relay --from FILE... [--listen ADDR]",
		Short: "Serve recorded Hubble flows as a Hubble Relay (observer gRPC API) for demos and tests",
		Long: `Serve recorded Hubble flows (the files learn reads) over the real observer.Observer
gRPC service: GetFlows (since, until, follow, number, first; namespace filters as
source_pod/destination_pod "ns/" prefixes, verdict, node_name, uuid), ServerStatus and
GetNodes. flowfence learn --from hubble://ADDR and hubble observe --server ADDR work
against it.

--pace fast puts the whole recording in the buffer at once (each node keeping its
newest --buffer-size flows when set, as a Hubble node's ring buffer does); --pace
realtime releases flows at --speed times the recorded pace from the start, and a
follower that falls further behind than the buffers hold gets lost_events. --loop
replays the recording again and again (times shifted, uuids made unique); --rebase
moves the recording's times so that it ends now (fast) or starts now (realtime).
Ctrl-C stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, log, err := flags.Setup(env, cmd)
			if err != nil {
				return err
			}
			if len(c.From) == 0 {
				return errors.New("--from: no recording given (Hubble JSON files, globs, .gz)")
			}
			r := c.Relay
			pace, err := relay.ParsePace(r.Pace)
			if err != nil {
				return fmt.Errorf("--%s", err)
			}
			ctx := flags.Context(cmd)
			rec, err := relay.Load(ctx, c.From, collectors.Options{Strict: c.Strict, Stdin: env.Streams.In, Logger: log, Workers: c.Workers})
			if err != nil {
				return err
			}
			if rec.Len() == 0 {
				return fmt.Errorf("--from %v: %w", c.From, relay.ErrNoFlows)
			}
			if r.Rebase {
				if rec, err = rec.Rebased(time.Now(), pace == relay.Realtime); err != nil {
					return err
				}
			}
			files := relay.TLSFiles{CertFile: r.TLSCertFile, KeyFile: r.TLSKeyFile, ClientCAFiles: r.TLSClientCAs}
			mode := "plaintext"
			var tlsCfg *relay.TLSConfig
			if files.Enabled() {
				cfg, err := relay.ServerTLS(files)
				if err != nil {
					return err
				}
				tlsCfg = cfg
				for _, w := range relay.CertWarnings(files, cfg, time.Now()) {
					cmd.PrintErrf("flowfence relay: WARNING: %s\n", w)
				}
				mode = "TLS"
				if len(files.ClientCAFiles) > 0 {
					mode = "mTLS"
				}
			}
			lis, err := net.Listen("tcp", r.Listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", r.Listen, err)
			}
			srv := relay.New(rec, relay.Options{Pace: pace, Speed: r.Speed, Loop: r.Loop, BufferSize: r.BufferSize})
			if !c.Quiet {
				first, last := rec.Span()
				scheme := "hubble://"
				if mode != "plaintext" {
					scheme = "hubble+tls://"
				}
				cmd.PrintErrf("flowfence relay: %d events (%d flows) of %d nodes, %s .. %s, on %s (%s, pace %s)\n",
					rec.Len(), rec.Flows(), len(rec.Nodes()), first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339), lis.Addr(), mode, r.Pace)
				cmd.PrintErrf("  try: flowfence learn --from %s%s --graph graph.json   or   hubble observe --server %s --since %s -o json\n",
					scheme, lis.Addr(), lis.Addr(), first.UTC().Format(time.RFC3339))
			}
			return relay.Serve(ctx, lis, srv, tlsCfg)
		},
	}
	fs := cmd.Flags()
	fs.StringSlice(config.KeyFrom, nil, "recorded Hubble flows: files, globs, .gz (repeatable)")
	fs.Bool(config.KeyStrict, false, "make a malformed input line fatal")
	fs.Int(config.KeyWorkers, 0, "decode workers (0 = all cores)")
	fs.String(flags.FlagListen, config.DefaultRelayListen, "address to serve on (HOST:PORT; port 0 picks one)")
	fs.String(flags.FlagPace, "fast", "fast: everything buffered at once; realtime: flows released at the recorded pace")
	fs.Float64(flags.FlagSpeed, 1, "realtime pace multiplier (e.g. 60: a minute of flows per second)")
	fs.Bool(flags.FlagLoop, false, "replay the recording again and again (times shifted, uuids made unique)")
	fs.Int(flags.FlagBufferSize, 0, "each node's ring buffer capacity (Hubble's default is 4095); 0 keeps every flow")
	fs.Bool(flags.FlagRebase, false, "move the recording's times to now (ends now with --pace fast, starts now with realtime)")
	fs.String(flags.FlagRelayTLSCertFile, "", "serve TLS with this certificate (PEM)")
	fs.String(flags.FlagRelayTLSKeyFile, "", "the key (PEM) of --tls-cert-file")
	fs.StringSlice(flags.FlagRelayTLSClientCA, nil, "require client certificates signed by these CAs (mTLS)")
	return cmd
}
