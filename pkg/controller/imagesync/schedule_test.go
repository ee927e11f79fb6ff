package imagesync

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

var t0 = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

// newImageSync is the shared ImageSync, synced at t0 on an hourly schedule,
// changed by mutate.
func newImageSync(mutate ...func(*v1alpha1.ImageSync)) *v1alpha1.ImageSync {
	return imagesynctest.New("default", "x", append([]func(*v1alpha1.ImageSync){func(is *v1alpha1.ImageSync) {
		is.Generation, is.CreationTimestamp = 1, metav1.NewTime(t0)
		is.Spec.Schedule = "@every 1h"
		is.Status = v1alpha1.ImageSyncStatus{ObservedGeneration: 1, LastSyncTime: &metav1.Time{Time: t0}}
	}}, mutate...)...)
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name     string
		is       *v1alpha1.ImageSync
		schedule string
		retryDue bool
		now      time.Time
		trigger  string
		wantNext time.Time
	}{
		{"not due", newImageSync(), "@every 1h", false, t0.Add(30 * time.Minute), "", t0.Add(time.Hour)},
		{"due", newImageSync(), "@every 1h", false, t0.Add(time.Hour), TriggerScheduled, t0.Add(time.Hour)},
		{"five missed ticks run once", newImageSync(), "@every 1h", false, t0.Add(5*time.Hour + time.Minute), TriggerScheduled, t0.Add(time.Hour)},
		{"never synced: from creation", newImageSync(func(is *v1alpha1.ImageSync) { is.Status.LastSyncTime = nil }), "0 * * * *", false, t0.Add(10 * time.Minute), "", t0.Add(time.Hour)},
		{"spec change", newImageSync(func(is *v1alpha1.ImageSync) { is.Generation = 2 }), "@every 1h", false, t0.Add(time.Minute), TriggerSpecChanged, t0.Add(time.Hour)},
		{"new object", newImageSync(func(is *v1alpha1.ImageSync) { is.Status = v1alpha1.ImageSyncStatus{} }), "@every 1h", false, t0, TriggerSpecChanged, t0.Add(time.Hour)},
		{"sync request", newImageSync(func(is *v1alpha1.ImageSync) {
			is.Status.PendingSyncRequest = &v1alpha1.SyncRequestRecord{ID: "r1"}
		}), "@every 1h", false, t0.Add(time.Minute), TriggerRequested, t0.Add(time.Hour)},
		{"retry due", newImageSync(), "@every 1h", true, t0.Add(time.Minute), TriggerRetry, t0.Add(time.Hour)},
		{"suspended: nothing, no next", newImageSync(func(is *v1alpha1.ImageSync) {
			is.Spec.Suspend = true
			is.Generation = 2
			is.Status.PendingSyncRequest = &v1alpha1.SyncRequestRecord{ID: "r1"}
		}), "@every 1h", true, t0.Add(5 * time.Hour), "", time.Time{}},
		{"cron expression", newImageSync(), "*/15 * * * *", false, t0.Add(16 * time.Minute), TriggerScheduled, t0.Add(15 * time.Minute)},
		{"spec change soon after a run waits", newImageSync(func(is *v1alpha1.ImageSync) { is.Generation = 2 }), "@every 1h", false,
			t0.Add(10 * time.Second), "", t0.Add(30 * time.Second)},
		{"spec change after the gap runs", newImageSync(func(is *v1alpha1.ImageSync) { is.Generation = 2 }), "@every 1h", false,
			t0.Add(30 * time.Second), TriggerSpecChanged, t0.Add(time.Hour)},
		{"held spec change before the schedule", newImageSync(func(is *v1alpha1.ImageSync) { is.Generation = 2 }), "@every 20s", false,
			t0.Add(10 * time.Second), "", t0.Add(20 * time.Second)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sched, err := parseSchedule(tc.schedule, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			p := decide(tc.is, sched, tc.retryDue, 30*time.Second, tc.now)
			if p.trigger != tc.trigger || !p.next.Equal(tc.wantNext) {
				t.Fatalf("decide = %q next %v, want %q next %v", p.trigger, p.next, tc.trigger, tc.wantNext)
			}
		})
	}
}

func TestParseScheduleRefusesNeverFiring(t *testing.T) {
	for _, s := range []string{"0 0 30 2 *", "TZ=UTC", "CRON_TZ=Europe/Berlin"} {
		if _, err := parseSchedule(s, t0); err == nil {
			t.Errorf("parseSchedule(%q) accepted it", s)
		}
	}
}
