package inventory

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Runs says whether a CronJob's schedule fired inside the window
// [start, end]: covered, and a sentence for reports (the first run in the
// window, or the next one after it; a suspended CronJob or a schedule that
// cannot be read says so). Other kinds are never covered and say "".
func (w *Workload) Runs(start, end time.Time) (covered bool, say string) {
	if w.Kind != KindCronJob {
		return false, ""
	}
	spec := w.Schedule
	if w.TimeZone != "" {
		spec = "CRON_TZ=" + w.TimeZone + " " + spec
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return false, "its schedule cannot be read: " + err.Error()
	}
	first := sched.Next(start.Add(-time.Second))
	covered = !first.IsZero() && !first.After(end)
	last := ""
	if !w.LastSchedule.IsZero() {
		last = ", last run " + stamp(w.LastSchedule)
	}
	switch {
	case w.Suspended:
		return covered, "suspended" + last
	case covered:
		return true, fmt.Sprintf("the window covered a scheduled run (%s) in which it never talked%s", stamp(first), last)
	case first.IsZero():
		return false, "its schedule never fires" + last
	default:
		return false, fmt.Sprintf("the window covered no scheduled run: next %s%s", stamp(first), last)
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }
