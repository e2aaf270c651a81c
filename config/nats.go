package config

import (
	"fmt"

	"github.com/spf13/viper"
)

// NATS keys: the fleet on NATS JetStream (nats:// sources, learn --publish).
const (
	// KeyPublish is learn's --publish nats://HOST:PORT[/STREAM].
	KeyPublish = "publish"
	// KeyCluster names the cluster a publisher's deltas describe.
	KeyCluster         = "cluster"
	KeyNATSReplicas    = "nats.replicas"
	KeyNATSUser        = "nats.user"
	KeyNATSPassword    = "nats.password"
	KeyNATSToken       = "nats.token"
	KeyNATSCreds       = "nats.creds"
	KeyNATSNKey        = "nats.nkey"
	KeyNATSCA          = "nats.ca"
	KeyNATSCert        = "nats.cert"
	KeyNATSKey         = "nats.key"
	DefaultNATSReplica = 1
)

// SecretKeys are the keys whose values are secrets: never printed
// (config view shows them as REDACTED).
func SecretKeys() []string { return []string{KeyNATSPassword, KeyNATSToken} }

// NATS is the fleet's configuration.
type NATS struct {
	Publish, Cluster      string
	Replicas              int
	User, Password, Token string
	CredsFile, NKeyFile   string
	CAFiles               []string
	CertFile, KeyFile     string
}

func natsDefaults() map[string]any {
	return map[string]any{
		KeyPublish: "", KeyCluster: "", KeyNATSReplicas: DefaultNATSReplica,
		KeyNATSUser: "", KeyNATSPassword: "", KeyNATSToken: "", KeyNATSCreds: "", KeyNATSNKey: "",
		KeyNATSCA: []string{}, KeyNATSCert: "", KeyNATSKey: "",
	}
}

func loadNATS(vp *viper.Viper) (NATS, error) {
	n := NATS{
		Publish: vp.GetString(KeyPublish), Cluster: vp.GetString(KeyCluster), Replicas: vp.GetInt(KeyNATSReplicas),
		User: vp.GetString(KeyNATSUser), Password: vp.GetString(KeyNATSPassword), Token: vp.GetString(KeyNATSToken),
		CredsFile: vp.GetString(KeyNATSCreds), NKeyFile: vp.GetString(KeyNATSNKey),
		CAFiles: vp.GetStringSlice(KeyNATSCA), CertFile: vp.GetString(KeyNATSCert), KeyFile: vp.GetString(KeyNATSKey),
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		return n, fmt.Errorf("--nats-replicas %d: JetStream keeps 1 to 5 replicas", n.Replicas)
	}
	if n.Publish != "" && n.Cluster == "" {
		return n, fmt.Errorf("--publish: needs --cluster NAME (the subject flowfence.graph.NAME)")
	}
	return n, nil
}
