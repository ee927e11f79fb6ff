package once

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/portager/portager/pkg/syncer"
)

// Output formats of -o.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

var outputFormats = []string{outputTable, outputJSON, outputYAML}

// report is one run's results as once prints them.
type report struct {
	results []syncer.TagResult
	elapsed time.Duration
	dryRun  bool
}

// summary counts a report's outcomes.
type summary struct {
	Copied        int   `json:"copied"`
	WouldCopy     int   `json:"wouldCopy"`
	UpToDate      int   `json:"upToDate"`
	Failed        int   `json:"failed"`
	BytesUploaded int64 `json:"bytesUploaded"`
	// Duration is the whole run's, as a Go duration ("1.234s"); set for
	// structured output only.
	Duration string `json:"duration,omitempty"`
}

func (r report) summary() summary {
	var s summary
	for _, t := range r.results {
		switch t.Outcome {
		case syncer.OutcomeCopied:
			s.Copied++
		case syncer.OutcomeWouldCopy:
			s.WouldCopy++
		case syncer.OutcomeSkipped:
			s.UpToDate++
		default:
			s.Failed++
		}
		s.BytesUploaded += t.Bytes
	}
	return s
}

// print writes r in format, one of outputFormats.
func (r report) print(w io.Writer, format string) error {
	switch format {
	case outputJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r.structured())
	case outputYAML:
		data, err := yaml.Marshal(r.structured())
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	return r.printTable(w)
}

// printTable writes one row per tag (image-level failures have TAG "-")
// and a summary line.
func (r report) printTable(w io.Writer) error {
	// tabwriter writes every cell and its padding separately: unbuffered,
	// a 100-tag table is some 1,700 writes, each a system call and, into
	// a pipe, a wake-up of the reader. One buffer makes it a few.
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tTAG\tOUTCOME\tDIGEST\tBYTES\tDURATION\tREASON\tMESSAGE")
	for _, t := range r.results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", t.Image, dash(t.Tag), t.Outcome, dash(t.Digest),
			t.Bytes, t.Duration.Round(time.Millisecond), dash(t.Reason), dash(oneLine(t.Message)))
	}
	tw.Flush()
	s, elapsed := r.summary(), r.elapsed.Round(time.Millisecond)
	if r.dryRun {
		fmt.Fprintf(bw, "dry run: %d would be copied, %d up to date, %d failed; nothing written, in %s\n",
			s.WouldCopy, s.UpToDate, s.Failed, elapsed)
	} else {
		fmt.Fprintf(bw, "%d copied, %d up to date, %d failed; %d bytes uploaded in %s\n",
			s.Copied, s.UpToDate, s.Failed, s.BytesUploaded, elapsed)
	}
	return bw.Flush()
}

// structuredReport is what -o json and -o yaml print: one object whose
// field names are a contract with the scripts that read it.
type structuredReport struct {
	DryRun  bool               `json:"dryRun"`
	Summary summary            `json:"summary"`
	Results []structuredResult `json:"results"`
}

type structuredResult struct {
	Image string `json:"image"`
	// Tag is empty for a failure of the whole image, such as a tag list
	// that could not be read.
	Tag         string `json:"tag,omitempty"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Digest      string `json:"digest,omitempty"`
	// WrittenDigest is the digest written when it differs from Digest (an
	// index filtered to the image's platforms); Platforms are the
	// platforms kept.
	WrittenDigest string         `json:"writtenDigest,omitempty"`
	Platforms     []string       `json:"platforms,omitempty"`
	Outcome       syncer.Outcome `json:"outcome"`
	Reason        string         `json:"reason"`
	Message       string         `json:"message,omitempty"`
	Bytes         int64          `json:"bytes"`
	Duration      string         `json:"duration"`
	Transient     bool           `json:"transient,omitempty"`
	// RetryAfter is when a rate-limited registry allows a retry, in RFC
	// 3339 as Kubernetes writes times.
	RetryAfter string `json:"retryAfter,omitempty"`
}

func (r report) structured() structuredReport {
	out := structuredReport{DryRun: r.dryRun, Summary: r.summary(), Results: make([]structuredResult, 0, len(r.results))}
	out.Summary.Duration = r.elapsed.Round(time.Millisecond).String()
	for _, t := range r.results {
		sr := structuredResult{
			Image: t.Image, Tag: t.Tag, Source: t.Source, Destination: t.Destination, Digest: t.Digest,
			WrittenDigest: t.WrittenDigest, Platforms: t.Platforms,
			Outcome: t.Outcome, Reason: t.Reason, Message: t.Message, Bytes: t.Bytes,
			Duration: t.Duration.Round(time.Millisecond).String(), Transient: t.Transient,
		}
		if !t.RetryAfter.IsZero() {
			sr.RetryAfter = t.RetryAfter.UTC().Format(time.RFC3339)
		}
		out.Results = append(out.Results, sr)
	}
	return out
}

// dash stands in for an empty cell so the columns stay aligned.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
