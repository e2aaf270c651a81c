package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// Keys of live Hubble sources (hubble://, hubble+tls://): the observation
// window, checkpoints, server-side filters, reconnects and TLS (flags named
// as the Hubble CLI names them). The `hubble.` keys are a section of the
// config file; their flags drop the prefix (see flags).
const (
	KeyDuration           = "duration"
	KeyFollow             = "follow"
	KeyCheckpointInterval = "checkpoint-interval"
	KeyHubbleNamespaces   = "hubble.namespaces"
	KeyHubbleNotNS        = "hubble.not-namespaces"
	KeyHubbleVerdicts     = "hubble.verdicts"
	KeyHubbleMaxReconnect = "hubble.max-reconnects"
	KeyHubbleIdleTimeout  = "hubble.idle-timeout"
	// KeyHubbleShard is learn's --shard I/N: this learner takes the relay
	// nodes whose name hashes to shard I of N (counted from 0).
	KeyHubbleShard       = "hubble.shard"
	KeyTLSCACertFiles    = "hubble.tls-ca-cert-files"
	KeyTLSClientCertFile = "hubble.tls-client-cert-file"
	KeyTLSClientKeyFile  = "hubble.tls-client-key-file"
	KeyTLSServerName     = "hubble.tls-server-name"
	KeyTLSAllowInsecure  = "hubble.tls-allow-insecure"
	// `flowfence relay`: the replay relay.
	KeyRelayListen       = "relay.listen"
	KeyRelayPace         = "relay.pace"
	KeyRelaySpeed        = "relay.speed"
	KeyRelayLoop         = "relay.loop"
	KeyRelayBufferSize   = "relay.buffer-size"
	KeyRelayRebase       = "relay.rebase"
	KeyRelayTLSCertFile  = "relay.tls-cert-file"
	KeyRelayTLSKeyFile   = "relay.tls-key-file"
	KeyRelayTLSClientCAs = "relay.tls-client-ca-files"
)

// Defaults of live sources and the relay.
const (
	DefaultCheckpointInterval = time.Minute
	DefaultMaxReconnects      = 10
	DefaultIdleTimeout        = 2 * time.Minute
	DefaultRelayListen        = "localhost:4245"
)

func liveDefaults() map[string]any {
	return map[string]any{
		KeyDuration: "", KeyFollow: false, KeyCheckpointInterval: DefaultCheckpointInterval.String(),
		KeyHubbleNamespaces: []string{}, KeyHubbleNotNS: []string{}, KeyHubbleVerdicts: []string{},
		KeyHubbleMaxReconnect: DefaultMaxReconnects, KeyHubbleIdleTimeout: DefaultIdleTimeout.String(), KeyHubbleShard: "",
		KeyTLSCACertFiles: []string{}, KeyTLSClientCertFile: "", KeyTLSClientKeyFile: "", KeyTLSServerName: "", KeyTLSAllowInsecure: false,
		KeyRelayListen: DefaultRelayListen, KeyRelayPace: "fast", KeyRelaySpeed: 1.0, KeyRelayLoop: false, KeyRelayBufferSize: 0,
		KeyRelayRebase: false, KeyRelayTLSCertFile: "", KeyRelayTLSKeyFile: "", KeyRelayTLSClientCAs: []string{},
	}
}

// Live is the typed configuration of live Hubble sources.
type Live struct {
	Duration           time.Duration
	Follow             bool
	CheckpointInterval time.Duration
	Namespaces         []string
	NotNamespaces      []string
	Verdicts           []string
	MaxReconnects      int
	// IdleTimeout is how long a stream may send nothing before it is
	// taken for stalled (0: never).
	IdleTimeout time.Duration
	// ShardIndex of ShardCount is the shard of the relay's nodes learned
	// (--shard I/N); ShardCount 0 learns every node.
	ShardIndex, ShardCount int
	TLSCACertFiles         []string
	TLSClientCertFile      string
	TLSClientKeyFile       string
	TLSServerName          string
	TLSAllowInsecure       bool
}

// Relay is the typed configuration of `flowfence relay`.
type Relay struct {
	Listen       string
	Pace         string
	Speed        float64
	Loop         bool
	BufferSize   int
	Rebase       bool
	TLSCertFile  string
	TLSKeyFile   string
	TLSClientCAs []string
}

func loadLive(vp *viper.Viper) (Live, Relay, error) {
	l := Live{
		Follow: vp.GetBool(KeyFollow), Namespaces: vp.GetStringSlice(KeyHubbleNamespaces), NotNamespaces: vp.GetStringSlice(KeyHubbleNotNS),
		Verdicts: vp.GetStringSlice(KeyHubbleVerdicts), MaxReconnects: vp.GetInt(KeyHubbleMaxReconnect),
		TLSCACertFiles: vp.GetStringSlice(KeyTLSCACertFiles), TLSClientCertFile: vp.GetString(KeyTLSClientCertFile),
		TLSClientKeyFile: vp.GetString(KeyTLSClientKeyFile), TLSServerName: vp.GetString(KeyTLSServerName),
		TLSAllowInsecure: vp.GetBool(KeyTLSAllowInsecure),
	}
	var err error
	if s := vp.GetString(KeyDuration); s != "" {
		if l.Duration, err = time.ParseDuration(s); err != nil || l.Duration <= 0 {
			return l, Relay{}, fmt.Errorf("--duration %q: want a positive duration such as 10m or 24h", s)
		}
	}
	if s := vp.GetString(KeyHubbleIdleTimeout); s != "" {
		if l.IdleTimeout, err = time.ParseDuration(s); err != nil || l.IdleTimeout < 0 {
			return l, Relay{}, fmt.Errorf("--idle-timeout %q: want a duration such as 2m (0 turns it off)", s)
		}
	}
	if l.ShardIndex, l.ShardCount, err = ParseShard(vp.GetString(KeyHubbleShard)); err != nil {
		return l, Relay{}, err
	}
	if s := vp.GetString(KeyCheckpointInterval); s != "" {
		if l.CheckpointInterval, err = time.ParseDuration(s); err != nil || l.CheckpointInterval <= 0 {
			return l, Relay{}, fmt.Errorf("--checkpoint-interval %q: want a positive duration such as 1m", s)
		}
	}
	r := Relay{
		Listen: vp.GetString(KeyRelayListen), Pace: vp.GetString(KeyRelayPace), Speed: vp.GetFloat64(KeyRelaySpeed),
		Loop: vp.GetBool(KeyRelayLoop), BufferSize: vp.GetInt(KeyRelayBufferSize), Rebase: vp.GetBool(KeyRelayRebase),
		TLSCertFile: vp.GetString(KeyRelayTLSCertFile), TLSKeyFile: vp.GetString(KeyRelayTLSKeyFile),
		TLSClientCAs: vp.GetStringSlice(KeyRelayTLSClientCAs),
	}
	if r.Speed <= 0 {
		return l, r, fmt.Errorf("--speed %v: must be positive", r.Speed)
	}
	if r.BufferSize < 0 {
		return l, r, fmt.Errorf("--buffer-size %d: must not be negative", r.BufferSize)
	}
	return l, r, nil
}

// ParseShard reads --shard I/N: shard I (counted from 0) of N, 0 <= I < N.
// "" is no shard (0, 0).
func ParseShard(s string) (index, count int, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, nil
	}
	bad := fmt.Errorf("--shard %q: want I/N, this learner's shard I of N counted from 0 (0 <= I < N; --shard 0/2 and --shard 1/2 split a relay's nodes in two)", s)
	i, n, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, bad
	}
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil || count < 1 || index < 0 || index >= count || strings.ContainsAny(s, "+- ") {
		return 0, 0, bad
	}
	return index, count, nil
}
