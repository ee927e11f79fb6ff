package once

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/portager/portager/pkg/syncer"
)

// countingWriter counts the Write calls that reach it: on a terminal or a
// pipe each is a system call.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestTableWritesInBulk: the result table of a large run reaches
// standard output in a few writes, not one per cell, and is whole.
func TestTableWritesInBulk(t *testing.T) {
	var results []syncer.TagResult
	for i := range 100 {
		results = append(results, syncer.TagResult{
			Image: fmt.Sprintf("team/app-%02d", i), Tag: "1.0.0", Outcome: syncer.OutcomeSkipped,
			Digest: "sha256:" + strings.Repeat("a", 64), Reason: syncer.ReasonUpToDate,
		})
	}
	results = append(results, syncer.TagResult{Image: "team/broken", Outcome: syncer.OutcomeFailed,
		Reason: syncer.ReasonListTagsFailed, Message: "list tags\nfailed"})

	var w countingWriter
	if err := (report{results: results}).printTable(&w); err != nil {
		t.Fatal(err)
	}
	// 101 rows of 8 cells each: written unbuffered, that is over 1,600 writes.
	if w.writes > 4 {
		t.Errorf("the table took %d writes, want at most 4", w.writes)
	}
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if len(lines) != 103 {
		t.Fatalf("%d lines, want a header, 101 rows and a summary:\n%s", len(lines), w.String())
	}
	if !strings.HasPrefix(lines[0], "IMAGE ") || !strings.Contains(lines[101], "team/broken  -  ") ||
		!strings.Contains(lines[101], "list tags failed") {
		t.Errorf("header or failure row malformed:\n%s\n%s", lines[0], lines[101])
	}
	if want := "0 copied, 100 up to date, 1 failed; 0 bytes uploaded in 0s"; lines[102] != want {
		t.Errorf("summary %q, want %q", lines[102], want)
	}
}

// TestStructuredOutput: -o json and -o yaml print one object with the
// summary and every result, image-level failures and rate limits included,
// under the field names scripts rely on.
func TestStructuredOutput(t *testing.T) {
	retry := time.Date(2026, 11, 22, 21, 30, 0, 0, time.FixedZone("CET", 3600))
	rep := report{
		elapsed: 1234567 * time.Microsecond,
		dryRun:  true,
		results: []syncer.TagResult{
			{Image: "app", Tag: "v1", Source: "src/app:v1", Destination: "dst/app:v1", Digest: "sha256:" + strings.Repeat("a", 64),
				Outcome: syncer.OutcomeSkipped, Reason: syncer.ReasonUpToDate, Duration: 3 * time.Millisecond},
			{Image: "app", Tag: "v2", Source: "src/app:v2", Destination: "dst/app:v2", Digest: "sha256:" + strings.Repeat("b", 64),
				Outcome: syncer.OutcomeWouldCopy, Reason: syncer.ReasonDestinationDiffers, Message: "destination has sha256:" + strings.Repeat("c", 64)},
			{Image: "app", Tag: "v3", Source: "src/app:v3", Destination: "dst/app:v3", Outcome: syncer.OutcomeFailed,
				Reason: syncer.ReasonRateLimited, Message: "too many requests", Transient: true, RetryAfter: retry},
			{Image: "base", Source: "src/base", Destination: "dst/base", Outcome: syncer.OutcomeFailed, Reason: syncer.ReasonListTagsFailed},
		},
	}
	type result struct {
		Image, Tag, Source, Destination, Digest, Outcome, Reason, Message, Duration, RetryAfter string
		Bytes                                                                                   int64
		Transient                                                                               bool
	}
	type parsed struct {
		DryRun  bool `json:"dryRun"`
		Summary struct {
			Copied, WouldCopy, UpToDate, Failed int
			BytesUploaded                       int64
			Duration                            string
		} `json:"summary"`
		Results []result `json:"results"`
	}
	unmarshal := map[string]func([]byte, any) error{
		outputJSON: json.Unmarshal,
		outputYAML: func(b []byte, v any) error { return yaml.Unmarshal(b, v) },
	}
	for _, format := range []string{outputJSON, outputYAML} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := rep.print(&buf, format); err != nil {
				t.Fatal(err)
			}
			for _, field := range []string{"dryRun", "summary", "wouldCopy", "upToDate", "bytesUploaded", "results", "outcome", "retryAfter"} {
				if !strings.Contains(buf.String(), field) {
					t.Errorf("output lacks field %q:\n%s", field, buf.String())
				}
			}
			var got parsed
			if err := unmarshal[format](buf.Bytes(), &got); err != nil {
				t.Fatalf("%v:\n%s", err, buf.String())
			}
			s := got.Summary
			if !got.DryRun || s.Copied != 0 || s.WouldCopy != 1 || s.UpToDate != 1 || s.Failed != 2 || s.Duration != "1.235s" {
				t.Errorf("dryRun %v, summary %+v, want a dry run with 1 would copy, 1 up to date, 2 failed in 1.235s", got.DryRun, s)
			}
			if len(got.Results) != len(rep.results) {
				t.Fatalf("%d results, want %d", len(got.Results), len(rep.results))
			}
			want := []result{
				{Image: "app", Tag: "v1", Source: "src/app:v1", Destination: "dst/app:v1", Digest: rep.results[0].Digest, Outcome: "Skipped", Reason: "UpToDate", Duration: "3ms"},
				{Image: "app", Tag: "v2", Source: "src/app:v2", Destination: "dst/app:v2", Digest: rep.results[1].Digest, Outcome: "WouldCopy", Reason: "DestinationDiffers",
					Message: rep.results[1].Message, Duration: "0s"},
				{Image: "app", Tag: "v3", Source: "src/app:v3", Destination: "dst/app:v3", Outcome: "Failed", Reason: "RateLimited", Message: "too many requests",
					Duration: "0s", Transient: true, RetryAfter: "2026-11-22T20:30:00Z"},
				{Image: "base", Source: "src/base", Destination: "dst/base", Outcome: "Failed", Reason: "ListTagsFailed", Duration: "0s"},
			}
			for i := range want {
				if got.Results[i] != want[i] {
					t.Errorf("result %d = %+v, want %+v", i, got.Results[i], want[i])
				}
			}
		})
	}
}

// TestOutputFlag: once refuses an unknown -o before it reads anything.
func TestOutputFlag(t *testing.T) {
	_, _, err := runOnce("", "once", "-f", "-", "-o", "wide")
	if err == nil || !strings.Contains(err.Error(), `--output "wide": want one of table, json, yaml`) {
		t.Errorf("err = %v, want the formats named", err)
	}
}
