package config_test

import (
	"strings"
	"testing"

	"github.com/flowfence/flowfence/config"
)

// TestShard: what --shard accepts (I/N, shards counted from 0) and the
// error a user gets for anything else, naming the flag and the form.
func TestShard(t *testing.T) {
	for _, c := range []struct {
		in           string
		index, count int
		bad          bool
	}{
		{in: ""},
		{in: "0/1", count: 1},
		{in: "0/2", count: 2},
		{in: "1/2", index: 1, count: 2},
		{in: "2/3", index: 2, count: 3},
		{in: " 7/16 ", index: 7, count: 16},
		{in: "2/2", bad: true},
		{in: "3/2", bad: true},
		{in: "0/0", bad: true},
		{in: "-1/2", bad: true},
		{in: "1/-2", bad: true},
		{in: "+1/2", bad: true},
		{in: "1", bad: true},
		{in: "1/2/3", bad: true},
		{in: "a/b", bad: true},
		{in: "1 / 2", bad: true},
		{in: "1/", bad: true},
		{in: "/2", bad: true},
	} {
		vp := config.New()
		vp.Set(config.KeyHubbleShard, c.in)
		cfg, err := config.Load(vp)
		if c.bad {
			if err == nil || !strings.Contains(err.Error(), "--shard") || !strings.Contains(err.Error(), "want I/N") || !strings.Contains(err.Error(), "counted from 0") {
				t.Errorf("--shard %q: %v, want an error naming --shard and the form I/N", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("--shard %q: %v", c.in, err)
			continue
		}
		if cfg.Live.ShardIndex != c.index || cfg.Live.ShardCount != c.count {
			t.Errorf("--shard %q: %d/%d, want %d/%d", c.in, cfg.Live.ShardIndex, cfg.Live.ShardCount, c.index, c.count)
		}
	}
}
