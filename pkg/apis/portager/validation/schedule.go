package validation

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultMinScheduleInterval is the shortest time between two scheduled runs
// a schedule may ask for unless an administrator sets another.
const DefaultMinScheduleInterval = time.Minute

// cronParser accepts the five standard fields, the descriptors (@hourly...)
// and @every, exactly as the controller schedules them.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// scheduleReference is the instant schedules are checked from, so that
// validation gives the same answer whenever it runs.
var scheduleReference = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// maxScheduleSamples bounds how many activations ShortestInterval walks.
// A thousand covers several years of a schedule that fires a few times a
// month, and costs well under a millisecond.
const maxScheduleSamples = 1000

// ParseSchedule parses an ImageSync schedule the way the controller does. It
// never panics: robfig/cron slices past the end of a "TZ=zone" prefix that
// has no schedule after it, so that form is refused here first, and any other
// panic inside the parser becomes an error.
func ParseSchedule(schedule string) (s cron.Schedule, err error) {
	if rest, ok := cutTimeZone(schedule); ok && strings.TrimSpace(rest) == "" {
		return nil, errors.New("a TZ= or CRON_TZ= time zone must be followed by a schedule, e.g. \"CRON_TZ=Europe/Berlin 0 3 * * *\"")
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cannot be parsed: %v", r)
		}
	}()
	return cronParser.Parse(schedule)
}

// cutTimeZone returns what follows a leading TZ= or CRON_TZ= zone, as the
// parser splits it: everything after the first space, or nothing.
func cutTimeZone(schedule string) (string, bool) {
	if !strings.HasPrefix(schedule, "TZ=") && !strings.HasPrefix(schedule, "CRON_TZ=") {
		return "", false
	}
	_, rest, _ := strings.Cut(schedule, " ")
	return rest, true
}

// ValidateSchedule checks a cron expression, descriptor or @every interval:
// it must parse, fire at all, and never fire twice within minInterval.
func ValidateSchedule(schedule string, minInterval time.Duration, fldPath *field.Path) field.ErrorList {
	switch {
	case strings.TrimSpace(schedule) == "":
		return field.ErrorList{field.Required(fldPath, `a cron expression such as "0 */6 * * *" or a descriptor such as "@every 1h"`)}
	case len(schedule) > MaxScheduleLength:
		return field.ErrorList{field.TooLong(fldPath, "", MaxScheduleLength)}
	}
	invalid := func(msg string) field.ErrorList { return field.ErrorList{field.Invalid(fldPath, schedule, msg)} }
	every, isEvery := everyInterval(schedule)
	if isEvery {
		d, err := time.ParseDuration(every)
		if err != nil {
			return invalid(fmt.Sprintf("@every needs a Go duration such as 30m or 6h: %v", err))
		}
		if least := max(minInterval, time.Second); d < least {
			return invalid(fmt.Sprintf("@every interval must be at least %s on this server", least))
		}
	}
	sched, err := ParseSchedule(schedule)
	if err != nil {
		return invalid(fmt.Sprintf("not a valid five-field cron expression or descriptor: %v", err))
	}
	if sched.Next(scheduleReference).IsZero() {
		return invalid("never fires: no date matches it (e.g. February 30)")
	}
	// Cron fields cannot fire more often than once a minute, so only a
	// longer limit needs the activations walked.
	if !isEvery && minInterval > time.Minute {
		if d, ok := ShortestInterval(sched); ok && d < minInterval {
			return invalid(fmt.Sprintf("fires %s apart at times; schedules on this server must be at least %s apart", d, minInterval))
		}
	}
	return nil
}

// everyInterval returns the duration text of an "@every" schedule, after an
// optional time zone.
func everyInterval(schedule string) (string, bool) {
	s := strings.TrimSpace(schedule)
	if rest, ok := cutTimeZone(s); ok {
		s = strings.TrimSpace(rest)
	}
	rest, ok := strings.CutPrefix(s, "@every ")
	return strings.TrimSpace(rest), ok
}

// ShortestInterval returns the smallest gap between consecutive activations
// of a schedule, walking up to a thousand of them from a fixed instant. Cron
// gaps vary ("*/2 1 * * *" fires two minutes apart, then waits a day), so one
// gap says little. It reports false for a schedule that fires at most once.
func ShortestInterval(sched cron.Schedule) (time.Duration, bool) {
	const none = time.Duration(1<<63 - 1)
	shortest := none
	prev := sched.Next(scheduleReference)
	for range maxScheduleSamples {
		if prev.IsZero() {
			break
		}
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		shortest = min(shortest, next.Sub(prev))
		prev = next
	}
	return shortest, shortest != none
}
