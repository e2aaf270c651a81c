package config

import (
	"fmt"

	"github.com/spf13/viper"
)

// KeyMaxWorkloads is the number of distinct workloads past which a run
// warns (0: never): every distinct identity costs memory while learning
// and synthesising, so a flood of them (a corrupt or hostile export, a
// label per request) is reported instead of silently exhausting the
// machine.
const KeyMaxWorkloads = "limits.workloads"

// DefaultMaxWorkloads is KeyMaxWorkloads' default: about 0.7 GB of learner
// memory (README, sizing).
const DefaultMaxWorkloads = 100_000

func limitsDefaults() map[string]any {
	return map[string]any{KeyMaxWorkloads: DefaultMaxWorkloads}
}

func loadLimits(vp *viper.Viper) (int, error) {
	n := vp.GetInt(KeyMaxWorkloads)
	if n < 0 {
		return 0, fmt.Errorf("%s %d: must not be negative (0 turns the warning off)", KeyMaxWorkloads, n)
	}
	return n, nil
}
