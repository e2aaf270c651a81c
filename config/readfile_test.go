//go:build unix

package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/flowfence/flowfence/config"
)

// TestReadFile: what --config accepts, and the errors a user gets for
// what it must not read.
func TestReadFile(t *testing.T) {
	for _, c := range []struct {
		name    string
		make    func(p string) error // p: the --config path (config.yaml)
		wantErr []string
		absent  []string
	}{
		{
			name: "a config file",
			make: func(p string) error { return os.WriteFile(p, []byte("cloud: aws\n"), 0o644) },
		},
		{
			name: "a link to a config file is followed",
			make: func(p string) error {
				real := filepath.Join(filepath.Dir(p), "real.yaml")
				if err := os.WriteFile(real, []byte("cloud: aws\n"), 0o644); err != nil {
					return err
				}
				return os.Symlink(real, p)
			},
		},
		{
			name:    "a FIFO is refused at once",
			make:    func(p string) error { return syscall.Mkfifo(p, 0o644) },
			wantErr: []string{"--config", "a FIFO, not a regular file"},
		},
		{
			name: "a 2 MiB file",
			make: func(p string) error {
				return os.WriteFile(p, []byte("cloud: aws\n#"+strings.Repeat("x", 2<<20)+"\n"), 0o644)
			},
			wantErr: []string{"--config", "larger than 1 MiB"},
		},
		{
			name: "an unknown key is quoted short and escaped",
			make: func(p string) error {
				return os.WriteFile(p, []byte("\"\\e]0;pwned\\a"+strings.Repeat("k", 100)+"TAIL\": 1\n"), 0o644)
			},
			wantErr: []string{"--config", "unknown key", `\x1b]0;pwned\a`},
			absent:  []string{"TAIL"},
		},
		{
			name: "a parse error does not repeat the file",
			make: func(p string) error {
				return os.WriteFile(p, []byte("cloud: [aws\n"+strings.Repeat("secret-", 100)+"TAIL: :\n"), 0o644)
			},
			wantErr: []string{"--config"},
			absent:  []string{"TAIL"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			if err := c.make(p); err != nil {
				t.Fatal(err)
			}
			vp := viper.New()
			vp.Set(config.KeyConfig, p)
			done := make(chan error, 1)
			go func() { done <- config.ReadFile(vp) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(2 * time.Second):
				t.Fatal("ReadFile did not return within 2s")
			}
			if len(c.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if got := vp.GetString("cloud"); got != "aws" {
					t.Errorf("cloud = %q, want aws", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one naming %q", c.wantErr)
			}
			t.Log(err)
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(err.Error(), a) {
					t.Errorf("error %q repeats %q", err, a)
				}
			}
			if strings.ContainsAny(err.Error(), "\x1b\x07") {
				t.Errorf("error %q holds a raw control character", err)
			}
		})
	}
}
