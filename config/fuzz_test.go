package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/flowfence/flowfence/config"
)

// FuzzReadFile: a config file of any bytes, in any format viper reads by
// extension, is loaded or refused without a panic, and an error of ReadFile
// or Load is short and inert on a terminal (no control character of the
// file reaches it raw).
func FuzzReadFile(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	exts := []string{"yaml", "json", "toml", "yml"}
	f.Add(example, uint8(0))
	for _, s := range []string{
		"cloud: aws\n", "{\"cloud\": \"aws\"}", "cloud = \"aws\"\n", "from: [a, b]\nworkers: -1\n",
		"\"\\e]0;x\\a\": 1\n", "since: \"\\e[31m\"\n", "metadataAllow:\n- namespace: a\n  workload: b\n  address: 169.254.169.254\n  port: 80\n",
		"nodes:\n  cidrs: [10.0.0.1/8]\n", "quiet:\n  fraction: 2\n", ": :\n", "[x\n", "a = [\n",
	} {
		for i := range exts {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, ext uint8) {
		path := filepath.Join(t.TempDir(), "config."+exts[int(ext)%len(exts)])
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		vp := config.New()
		vp.Set(config.KeyConfig, path)
		err := config.ReadFile(vp)
		if err == nil {
			_, err = config.Load(vp)
		}
		if err == nil {
			return
		}
		msg := err.Error()
		if len(msg) > len(path)+400 {
			t.Errorf("error of %d bytes: %.300q…", len(msg), msg)
		}
		if i := strings.IndexFunc(msg, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }); i >= 0 {
			t.Errorf("error holds a raw control character at %d: %q", i, msg)
		}
	})
}
