package imagesync

import (
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
	// next is the next scheduled run (zero while suspended).
	next time.Time
}

// decide says whether is must sync at now. A schedule missed while the
// controller was down runs once: the next tick is computed from the last
// sync, so however many ticks passed, one run brings it up to date and the
// one after is computed from that run.
func decide(is *v1alpha1.ImageSync, sched cron.Schedule, retryDue bool, now time.Time) plan {
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
		p.trigger = TriggerSpecChanged
	case is.Status.PendingSyncRequest != nil:
		p.trigger = TriggerRequested
	case !now.Before(p.next):
		p.trigger = TriggerScheduled
	case retryDue:
		p.trigger = TriggerRetry
	}
	return p
}

// cronSchedule is a parsed spec.schedule.
type cronSchedule = cron.Schedule

// parseSchedule parses with exactly the rules the API server validated.
func parseSchedule(s string) (cron.Schedule, error) {
	return validation.ParseSchedule(s)
}
