package gcpace

import (
	"os"
	"runtime/debug"
)

// Percent is the pace a short-lived binary collects at: the heap may grow to
// five times what is live before a collection starts.
const Percent = 400

func init() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(Percent)
	}
}
