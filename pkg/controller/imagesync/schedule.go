package imagesync

import (
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/apis/portager/validation"
)

// Why a run starts.
const (
	TriggerSpecChanged = "SpecChanged"
	TriggerRequested   = "Requested"
	TriggerScheduled   = "Scheduled"
	TriggerRetry       = "Retry"
)

// plan is what the controller does with an ImageSync now.
type plan struct {
	// trigger is why it runs now; empty means it does not.
	trigger string
	// next is when it runs next: the next scheduled run, or a spec change
	// held back by the minimum interval between runs. It is zero while
	// suspended, and for a schedule that never fires.
	next time.Time
}

// decide says whether is must sync at now. A schedule missed while the
// controller was down runs once: the next tick is computed from the last
// sync, so however many ticks passed, one run brings it up to date and the
// one after is computed from that run.
//
// A spec change runs at once, but no sooner than minGap after the previous
// run ended, so that a tenant editing the spec in a loop gets no more runs
// than one asking for on-demand syncs.
func decide(is *v1alpha1.ImageSync, sched cron.Schedule, retryDue bool, minGap time.Duration, now time.Time) plan {
	if is.Spec.Suspend {
		return plan{}
	}
	base := is.CreationTimestamp.Time
	if t := is.Status.LastSyncTime; t != nil {
		base = t.Time
	}
	p := plan{next: sched.Next(base)}
	switch {
	case is.Generation != is.Status.ObservedGeneration:
		if last := is.Status.LastSyncTime; last != nil && now.Before(last.Add(minGap)) {
			if due := last.Add(minGap); p.next.IsZero() || due.Before(p.next) {
				p.next = due
			}
			return p
		}
		p.trigger = TriggerSpecChanged
	case is.Status.PendingSyncRequest != nil:
		p.trigger = TriggerRequested
	case !p.next.IsZero() && !now.Before(p.next):
		p.trigger = TriggerScheduled
	case retryDue:
		p.trigger = TriggerRetry
	}
	return p
}

// cronSchedule is a parsed spec.schedule.
type cronSchedule = cron.Schedule

// parseSchedule parses with exactly the rules the API server validated, and
// refuses a schedule with no run left after now, which would otherwise
// count as always due.
func parseSchedule(s string, now time.Time) (cron.Schedule, error) {
	sched, err := validation.ParseSchedule(s)
	if err != nil {
		return nil, fmt.Errorf("cannot be parsed: %w", err)
	}
	if sched.Next(now).IsZero() {
		return nil, errors.New("never fires: no date in the next five years matches it")
	}
	return sched, nil
}
