package gcpacetest

import (
	"os"
	"runtime/metrics"
	"testing"
)

// Collections returns how many garbage collections have completed. A main
// package's test assigns it to a package-level variable, which Go
// initialises after every package main imports, and gives that to
// NoneBeforeMain.
func Collections() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// NoneBeforeMain fails t unless beforeMain, what Collections returned while
// package main initialised, is zero. With GOGC set the environment paces the
// collector, not gcpace, and there is nothing to check.
func NoneBeforeMain(t testing.TB, beforeMain uint64) {
	t.Helper()
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: the environment, not gcpace, paces the collector")
	}
	if beforeMain != 0 {
		t.Errorf("%d garbage collections ran before package main initialised; internal/gcpace must initialise before the packages that allocate", beforeMain)
	}
}
