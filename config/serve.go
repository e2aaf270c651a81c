package config

import (
	"fmt"
	"net"

	"github.com/spf13/viper"
)

// KeyServeListen is the address `flowfence learn` serves its health
// probes, Prometheus metrics and the current graph on (flag --listen of
// learn; e.g. ":9090"). Empty: nothing is served.
const KeyServeListen = "serve.listen"

func serveDefaults() map[string]any {
	return map[string]any{KeyServeListen: ""}
}

func loadServe(vp *viper.Viper) (string, error) {
	addr := vp.GetString(KeyServeListen)
	if addr == "" {
		return "", nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("--listen %q: want HOST:PORT or :PORT (e.g. :9090): %w", addr, err)
	}
	return addr, nil
}
