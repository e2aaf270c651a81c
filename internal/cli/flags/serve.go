package flags

import (
	"github.com/spf13/pflag"

	"github.com/flowfence/flowfence/config"
)

// keyAnnotation, on a flag, names the config key it binds to when its name
// is bound to another key on another verb (--listen: relay.listen on
// relay, serve.listen on learn). Bind and FlagKey read it.
const keyAnnotation = "flowfence/config-key"

// AddServe adds learn's --listen: where the long-running learner serves
// /healthz, /readyz, /metrics and /graph (config key serve.listen).
func AddServe(fs *pflag.FlagSet) {
	fs.String(FlagListen, "", "learn: serve /healthz, /readyz, Prometheus /metrics and the current graph (GET /graph) on this address (e.g. :9090); off when empty")
	_ = fs.SetAnnotation(FlagListen, keyAnnotation, []string{config.KeyServeListen}) // the flag was just added
}
