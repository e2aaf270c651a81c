package flags

import "github.com/flowfence/flowfence/config"

// Flag names. A top-level config key is its own flag (config.KeyFrom is
// --from); a nested key, a section of the config file, has a flag name of
// its own, declared here and paired with its key in flagKeys, the one
// table Bind reads. Flags without a config key are the verbs' own
// (OutputFlag; diff --update, learn --replace).
const (
	// the namespace scope of the generated policies (namespaces.*)
	FlagSystemNamespaces  = "system-namespaces"
	FlagIncludeNamespaces = "include-namespaces"
	FlagExcludeNamespaces = "exclude-namespaces"
	FlagDNSClusterIP      = "dns-cluster-ip"
	FlagNodeCIDRs         = "node-cidrs"
	// goldmane:// sources (goldmane.*)
	FlagGoldmaneCA         = "goldmane-ca"
	FlagGoldmaneCert       = "goldmane-cert"
	FlagGoldmaneKey        = "goldmane-key"
	FlagGoldmaneServerName = "goldmane-server-name"
	FlagGoldmaneFollow     = "goldmane-follow"
	// the flavors' options (calico.*, cilium.*, guardrails.*)
	FlagCalicoTier   = "calico-tier"
	FlagStaged       = "staged"
	FlagFQDN         = "fqdn"
	FlagFQDNPattern  = "fqdn-pattern"
	FlagGuardrails   = "guardrails"
	FlagBaselineDeny = "baseline-deny"
	// hubble:// sources (hubble.*, tls.*), named as the Hubble CLI names them
	FlagNamespace         = "namespace"
	FlagNotNamespace      = "not-namespace"
	FlagVerdict           = "verdict"
	FlagMaxReconnects     = "max-reconnects"
	FlagIdleTimeout       = "idle-timeout"
	FlagShard             = "shard"
	FlagTLSCACertFiles    = "tls-ca-cert-files"
	FlagTLSClientCertFile = "tls-client-cert-file"
	FlagTLSClientKeyFile  = "tls-client-key-file"
	FlagTLSServerName     = "tls-server-name"
	FlagTLSAllowInsecure  = "tls-allow-insecure"
	// flowfence relay (relay.*)
	FlagListen           = "listen"
	FlagPace             = "pace"
	FlagSpeed            = "speed"
	FlagLoop             = "loop"
	FlagBufferSize       = "buffer-size"
	FlagRebase           = "rebase"
	FlagRelayTLSCertFile = "tls-cert-file"
	FlagRelayTLSKeyFile  = "tls-key-file"
	FlagRelayTLSClientCA = "tls-client-ca-files"
	// the fleet on NATS JetStream (nats.*)
	FlagNATSReplicas = "nats-replicas"
	FlagNATSUser     = "nats-user"
	FlagNATSPassword = "nats-password"
	FlagNATSToken    = "nats-token"
	FlagNATSCreds    = "nats-creds"
	FlagNATSNKey     = "nats-nkey"
	FlagNATSCA       = "nats-ca"
	FlagNATSCert     = "nats-cert"
	FlagNATSKey      = "nats-key"
	// generate --inventory kube (kube.*), named as kubectl names them
	FlagKubeconfig  = "kubeconfig"
	FlagKubeContext = "context"
)

// flagKeys maps every flag name above to its config key.
func flagKeys() map[string]string {
	return map[string]string{
		FlagSystemNamespaces:   config.KeyNSSystem,
		FlagIncludeNamespaces:  config.KeyNSInclude,
		FlagExcludeNamespaces:  config.KeyNSExclude,
		FlagDNSClusterIP:       config.KeyDNSClusterIPs,
		FlagNodeCIDRs:          config.KeyNodeCIDRs,
		FlagGoldmaneCA:         config.KeyGoldmaneCA,
		FlagGoldmaneCert:       config.KeyGoldmaneCert,
		FlagGoldmaneKey:        config.KeyGoldmaneKey,
		FlagGoldmaneServerName: config.KeyGoldmaneServerName,
		FlagGoldmaneFollow:     config.KeyGoldmaneFollow,
		FlagShard:              config.KeyHubbleShard,
		FlagCalicoTier:         config.KeyCalicoTier,
		FlagStaged:             config.KeyCalicoStaged,
		FlagFQDN:               config.KeyCiliumFQDN,
		FlagFQDNPattern:        config.KeyCiliumFQDNPatterns,
		FlagGuardrails:         config.KeyGuardrails,
		FlagBaselineDeny:       config.KeyBaselineDeny,
		FlagNATSReplicas:       config.KeyNATSReplicas,
		FlagNATSUser:           config.KeyNATSUser,
		FlagNATSPassword:       config.KeyNATSPassword,
		FlagNATSToken:          config.KeyNATSToken,
		FlagNATSCreds:          config.KeyNATSCreds,
		FlagNATSNKey:           config.KeyNATSNKey,
		FlagNATSCA:             config.KeyNATSCA,
		FlagNATSCert:           config.KeyNATSCert,
		FlagNATSKey:            config.KeyNATSKey,
		FlagNamespace:          config.KeyHubbleNamespaces,
		FlagNotNamespace:       config.KeyHubbleNotNS,
		FlagVerdict:            config.KeyHubbleVerdicts,
		FlagMaxReconnects:      config.KeyHubbleMaxReconnect,
		FlagIdleTimeout:        config.KeyHubbleIdleTimeout,
		FlagTLSCACertFiles:     config.KeyTLSCACertFiles,
		FlagTLSClientCertFile:  config.KeyTLSClientCertFile,
		FlagTLSClientKeyFile:   config.KeyTLSClientKeyFile,
		FlagTLSServerName:      config.KeyTLSServerName,
		FlagTLSAllowInsecure:   config.KeyTLSAllowInsecure,
		FlagListen:             config.KeyRelayListen,
		FlagPace:               config.KeyRelayPace,
		FlagSpeed:              config.KeyRelaySpeed,
		FlagLoop:               config.KeyRelayLoop,
		FlagBufferSize:         config.KeyRelayBufferSize,
		FlagRebase:             config.KeyRelayRebase,
		FlagRelayTLSCertFile:   config.KeyRelayTLSCertFile,
		FlagRelayTLSKeyFile:    config.KeyRelayTLSKeyFile,
		FlagRelayTLSClientCA:   config.KeyRelayTLSClientCAs,
		FlagKubeconfig:         config.KeyKubeconfig,
		FlagKubeContext:        config.KeyKubeContext,
	}
}
