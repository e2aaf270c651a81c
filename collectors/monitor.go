package collectors

// Monitor hears a live source's events as they happen, for whoever watches
// a long-running learner (its metrics and readiness probe); the run
// summary reads the source's own report at the end instead. Sources call
// it from their Run goroutine, several sources at once: implementations
// are safe for concurrent use. A nil Monitor is allowed where a source
// takes one (see Notify).
type Monitor interface {
	// Connected says whether source has a stream open to its server.
	Connected(source string, up bool)
	// Reconnected counts one reconnect attempt of source.
	Reconnected(source string)
	// Lost counts n events the server reported lost (ring buffer
	// overflows, unavailable nodes).
	Lost(source string, n uint64)
	// Skipped counts n items of source read and not learned, by reason
	// (the reasons of Stats.Skipped).
	Skipped(source, reason string, n uint64)
}

// Notify calls fn with m when m is set: the sources' one guard for an
// optional Monitor.
func Notify(m Monitor, fn func(Monitor)) {
	if m != nil {
		fn(m)
	}
}
