package serve

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/flowfence/flowfence/learner"
)

// TestReady: ready while every live source has a stream open and no
// learned flow waits longer than two checkpoint intervals to be saved; a
// quiet cluster (nothing unsaved) stays ready however old the last save.
func TestReady(t *testing.T) {
	const src = "hubble://relay:80"
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		steps func(s *Server, clock *time.Time)
		ready bool
		why   string
	}{
		{"nothing connected yet", func(*Server, *time.Time) {}, false, "no live source has connected yet"},
		{"connected, nothing learned", func(s *Server, _ *time.Time) { s.Connected(src, true) }, true, ""},
		{"disconnected", func(s *Server, _ *time.Time) { s.Connected(src, true); s.Connected(src, false) }, false, "not connected: " + src},
		{"flows saved in time", func(s *Server, c *time.Time) {
			s.Connected(src, true)
			s.Progress(10, 2, 1)
			*c = c.Add(time.Minute)
			s.Checkpoint(learner.NewGraph(), 10, nil)
			*c = c.Add(time.Hour) // quiet since
		}, true, ""},
		{"flows unsaved for two intervals and more", func(s *Server, c *time.Time) {
			s.Connected(src, true)
			s.Progress(10, 2, 1)
			*c = c.Add(2*time.Minute + time.Second)
		}, false, "checkpoint overdue"},
		{"checkpoint failing", func(s *Server, c *time.Time) {
			s.Connected(src, true)
			s.Progress(10, 2, 1)
			*c = c.Add(time.Minute)
			s.Checkpoint(nil, 10, errors.New("no space left on device"))
			*c = c.Add(2 * time.Minute)
		}, false, "no space left on device"},
		{"first flow after a long quiet time", func(s *Server, c *time.Time) {
			s.Connected(src, true)
			s.Checkpoint(learner.NewGraph(), 0, nil)
			*c = c.Add(24 * time.Hour)
			s.Progress(1, 2, 1)
			*c = c.Add(time.Minute)
		}, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := t0
			s := New(Options{CheckpointInterval: time.Minute, Now: func() time.Time { return clock }})
			c.steps(s, &clock)
			ok, why := s.Ready()
			if ok != c.ready || !strings.Contains(why, c.why) {
				t.Fatalf("Ready() = %v %q, want %v containing %q", ok, why, c.ready, c.why)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if want := map[bool]int{true: 200, false: 503}[c.ready]; rec.Code != want {
				t.Fatalf("/readyz %d, want %d", rec.Code, want)
			}
		})
	}
}

// TestMetricsAndGraph: the sources' events and checkpoints reach the
// registry; /graph serves the last checkpoint, read-only.
func TestMetricsAndGraph(t *testing.T) {
	s := New(Options{CheckpointInterval: time.Second})
	const src = "hubble://relay:80"
	s.Lost(src, 3)
	s.Lost(src, 2)
	s.Reconnected(src)
	s.Skipped(src, "lost_events lines", 2)
	s.Progress(7, 3, 2)
	s.Progress(12, 4, 3)
	if got := testutil.ToFloat64(s.m.lost.WithLabelValues(src)); got != 5 {
		t.Errorf("lost events %v, want 5", got)
	}
	if got := testutil.ToFloat64(s.m.learned); got != 12 {
		t.Errorf("learned %v, want 12", got)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/graph", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/graph before any checkpoint: %d, want 503", rec.Code)
	}
	g := learner.NewGraph()
	g.Stats.Learned = 12
	s.Checkpoint(g, 12, nil)
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/graph", nil))
	back, err := learner.ReadGraph("graph", rec.Body)
	if rec.Code != http.StatusOK || err != nil || back.Stats.Learned != 12 {
		t.Fatalf("/graph: %d, %v, learned %d", rec.Code, err, back.Stats.Learned)
	}
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graph", strings.NewReader("{}")))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /graph: %d, want 405", rec.Code)
	}
	if n, err := testutil.GatherAndCount(s.Registry(), "flowfence_checkpoints_total", "flowfence_reconnects_total", "flowfence_records_skipped_total"); err != nil || n != 3 {
		t.Errorf("gather: %d series, %v", n, err)
	}
}
