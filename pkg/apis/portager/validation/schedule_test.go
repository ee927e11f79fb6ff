package validation

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateSchedule(t *testing.T) {
	cases := []struct {
		schedule string
		min      time.Duration
		// want is empty for a valid schedule, else a substring of the error.
		want string
	}{
		{"0 */6 * * *", time.Minute, ""},
		{"* * * * *", time.Minute, ""},
		{"@hourly", time.Hour, ""},
		{"@every 1m", time.Minute, ""},
		{"@every 90s", time.Minute, ""},
		{"CRON_TZ=Europe/Berlin 0 3 * * *", time.Minute, ""},
		{"TZ=UTC @every 2h", time.Minute, ""},
		{"0 0 29 2 *", time.Minute, ""}, // every leap year

		// A time zone with nothing after it used to panic the parser.
		{"TZ=UTC", time.Minute, "must be followed by a schedule"},
		{"CRON_TZ=Europe/Berlin", time.Minute, "must be followed by a schedule"},
		{"CRON_TZ=Europe/Berlin ", time.Minute, "must be followed by a schedule"},
		{"TZ=", time.Minute, "must be followed by a schedule"},
		{"TZ=Mars/Olympus 0 3 * * *", time.Minute, "bad location"},
		{"TZ=../../etc/passwd 0 3 * * *", time.Minute, "bad location"},

		// Schedules that never fire.
		{"0 0 30 2 *", time.Minute, "never fires"},
		{"0 0 31 4,6,9,11 *", time.Minute, "never fires"},

		// Too often for the server's limit.
		{"@every 1s", time.Minute, "at least 1m0s"},
		{"@every 59s", time.Minute, "at least 1m0s"},
		{"TZ=UTC @every 10s", time.Minute, "at least 1m0s"},
		{"@every 100ms", 0, "at least 1s"},
		{"@every 4m", 5 * time.Minute, "at least 5m0s"},
		{"*/2 * * * *", 5 * time.Minute, "fires 2m0s apart"},
		// Two minutes apart once a day is still two minutes apart.
		{"0,2 3 * * *", 5 * time.Minute, "fires 2m0s apart"},
		{"0 3 * * *", 5 * time.Minute, ""},

		{"", time.Minute, "Required"},
		{"every day", time.Minute, "not a valid"},
	}
	for _, tc := range cases {
		t.Run(tc.schedule, func(t *testing.T) {
			errs := ValidateSchedule(tc.schedule, tc.min, field.NewPath("spec", "schedule"))
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("refused: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != "spec.schedule" || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("errors = %v, want one at spec.schedule containing %q", errs, tc.want)
			}
		})
	}
}

// TestParseScheduleNeverPanics covers the inputs that crashed robfig/cron's
// parser before ParseSchedule guarded them.
func TestParseScheduleNeverPanics(t *testing.T) {
	for _, s := range []string{"TZ=UTC", "CRON_TZ=Europe/Berlin", "TZ=", "CRON_TZ=", "TZ==", "CRON_TZ=UTC\t0 0 * * *"} {
		if _, err := ParseSchedule(s); err == nil {
			t.Errorf("ParseSchedule(%q) accepted it", s)
		}
	}
}

func TestShortestInterval(t *testing.T) {
	cases := []struct {
		schedule string
		want     time.Duration
	}{
		{"* * * * *", time.Minute},
		{"@every 90m", 90 * time.Minute},
		{"*/2 1 * * *", 2 * time.Minute},
		{"0 0 * * 1,2", 24 * time.Hour},
		{"@yearly", 365 * 24 * time.Hour},
	}
	for _, tc := range cases {
		sched, err := ParseSchedule(tc.schedule)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := ShortestInterval(sched); !ok || got != tc.want {
			t.Errorf("ShortestInterval(%q) = %s, %v; want %s", tc.schedule, got, ok, tc.want)
		}
	}
}
