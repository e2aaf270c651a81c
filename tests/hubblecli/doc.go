// Package hubblecli checks flowfence's replay relay against the real Hubble
// CLI: the test builds `hubble` from github.com/cilium/cilium (the version
// flowfence's go.mod requires) and runs `hubble observe --server` against a
// relay on loopback. It is a separate module because the Hubble CLI pulls
// in much of cilium's dependency tree, which flowfence's own go.mod must
// never carry; cilium's go.mod has replace directives, which is why `go
// install github.com/cilium/cilium/hubble@v1.20.2` is refused and this
// module repeats them instead (see go.mod).
package hubblecli
