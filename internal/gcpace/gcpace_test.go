package gcpace

import (
	"fmt"
	"os"
	"os/exec"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
)

// reportEnv makes the test binary print the collector's pace and exit, so
// TestPace can see what init set in a process whose environment it chose.
const reportEnv = "GCPACE_REPORT_PACE"

func TestMain(m *testing.M) {
	if os.Getenv(reportEnv) != "" {
		fmt.Println(pace())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func pace() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestPace(t *testing.T) {
	tests := []struct {
		name string
		gogc string // "" leaves GOGC unset
		want uint64
	}{
		{name: "GOGC unset", want: Percent},
		{name: "GOGC wins", gogc: "50", want: 50},
		{name: "GOGC=100 is not taken for unset", gogc: "100", want: 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "GOGC=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, reportEnv+"=1")
			if tc.gogc != "" {
				cmd.Env = append(cmd.Env, "GOGC="+tc.gogc)
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("test binary: %v", err)
			}
			got, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
			if err != nil {
				t.Fatalf("test binary printed %q: %v", out, err)
			}
			if got != tc.want {
				t.Errorf("pace = %d, want %d", got, tc.want)
			}
		})
	}
}
