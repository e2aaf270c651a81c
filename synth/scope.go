package synth

// IsApplicationNamespace reports whether Synthesize would write policies for
// namespace ns under opts: not a system namespace (built-in list plus
// opts.SystemNamespaces) unless included by name or glob, inside
// opts.Include when set, and not in opts.Exclude. diff uses it to tell a
// namespace the committed tree has never covered from one it must not.
func IsApplicationNamespace(ns string, opts Options) bool {
	s := &synth{opts: opts}
	return s.isApp(ns)
}
