package plugin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// TestPrintStatusShowsDecisions: the status table names each tag's
// reason, so that a pinned tag's mismatch, an immutable tag counted up to
// date unread and a tag left diverged are told apart, and a pinned tag
// shows its pin.
func TestPrintStatusShowsDecisions(t *testing.T) {
	const (
		pin   = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
		other = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	is := imagesynctest.New("team-a", "app")
	is.Spec.Images = []v1alpha1.ImageSpec{{Name: "app", Tags: []string{"1.0@" + pin, "2.0"}, Include: []string{`v.*`}}}
	earlier := metav1.NewTime(now.Add(-time.Hour))
	is.Status.Images = []v1alpha1.ImageStatus{{Name: "app", Tags: []v1alpha1.TagStatus{
		{Tag: "1.0", Reason: "DigestMismatch", SourceDigest: other, Error: "DigestMismatch: source tag 1.0 is at " + other + ", not at the pinned " + pin},
		{Tag: "2.0", Reason: "DestinationDiverged", Error: "DestinationDiverged: destination tag is at " + other + " and is not overwritten"},
		{Tag: "v3", Synced: true, Reason: "ImmutableTagPresent", SourceDigest: pin, LastSyncTime: &earlier},
	}}}
	var out bytes.Buffer
	printStatus(&out, is, now)
	rows := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "app" {
			rows[f[1]] = f
		}
	}
	for _, tc := range []struct {
		tag, reason string
		synced      string
	}{
		{"1.0@sha256:111111111111", "DigestMismatch", "false"},
		{"2.0", "DestinationDiverged", "false"},
		{"v3", "ImmutableTagPresent", "true"},
	} {
		row, ok := rows[tc.tag]
		if !ok {
			t.Errorf("no row for %s in\n%s", tc.tag, out.String())
			continue
		}
		if row[2] != tc.synced || row[3] != tc.reason {
			t.Errorf("%s: synced %s reason %s, want %s %s", tc.tag, row[2], row[3], tc.synced, tc.reason)
		}
	}
	if !strings.Contains(out.String(), "REASON") {
		t.Errorf("no REASON column:\n%s", out.String())
	}
}

// TestPrintStatusShowsPlatforms: with platforms filtering a tag, the table
// names the platforms kept, and a filtered index shows the source's digest
// and the digest written.
func TestPrintStatusShowsPlatforms(t *testing.T) {
	const (
		src     = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
		written = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	is := imagesynctest.New("team-a", "app")
	is.Spec.Platforms = []string{"linux/amd64", "linux/arm64"}
	is.Status.Images = []v1alpha1.ImageStatus{{Name: "app", Tags: []v1alpha1.TagStatus{
		{Tag: "1.0", Synced: true, Reason: "Copied", SourceDigest: src, DestinationDigest: written, Platforms: []string{"linux/amd64", "linux/arm64"}},
		{Tag: "2.0", Reason: "PlatformMismatch", Error: "PlatformMismatch: image " + src + " is for linux/s390x, not for linux/amd64, linux/arm64"},
	}}}
	var out bytes.Buffer
	printStatus(&out, is, now)
	rows := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 5 && (f[0] == "app" || f[0] == "IMAGE") {
			rows[f[1]] = f
		}
	}
	if h := rows["TAG"]; h == nil || h[5] != "PLATFORMS" {
		t.Fatalf("no PLATFORMS column:\n%s", out.String())
	}
	if r := rows["1.0"]; r == nil || r[4] != "sha256:111111111111->sha256:222222222222" || r[5] != "linux/amd64,linux/arm64" {
		t.Errorf("filtered row = %q, want the digest written and the platforms kept", r)
	}
	if r := rows["2.0"]; r == nil || r[3] != "PlatformMismatch" || r[5] != "-" {
		t.Errorf("mismatch row = %q", r)
	}
}
