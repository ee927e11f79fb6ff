package imagesync

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/syncer"
)

func TestImageStatuses(t *testing.T) {
	now := metav1.NewTime(t0)
	earlier := metav1.NewTime(t0.Add(-1))
	spec := &v1alpha1.ImageSyncSpec{Images: []v1alpha1.ImageSpec{{Name: "alpine"}, {Name: "go"}, {Name: "alpine"}}}
	old := []v1alpha1.ImageStatus{{Name: "alpine", Tags: []v1alpha1.TagStatus{{Tag: "edge", Synced: true, SourceDigest: "sha256:old", LastSyncTime: &earlier}}}}
	results := []syncer.TagResult{
		{Image: "alpine", Tag: "3.21", Digest: "sha256:a", Outcome: syncer.OutcomeCopied, Bytes: 100},
		{Image: "alpine", Tag: "edge", Outcome: syncer.OutcomeFailed, Reason: syncer.ReasonTagNotFound, Message: "gone"},
		{Image: "go", Tag: "1.22", Digest: "sha256:g", Outcome: syncer.OutcomeSkipped},
		{Image: "go", Outcome: syncer.OutcomeFailed, Reason: syncer.ReasonListTagsFailed, Message: "503", Transient: true},
		{Image: "go", Tag: "1.23", Digest: "sha256:h", Outcome: syncer.OutcomeFailed, Reason: syncer.ReasonGateFailed, Message: "unsigned"},
	}
	images, sum := imageStatuses(spec, old, results, now, true)

	if sum.total != 5 || sum.synced != 2 || sum.failed != 3 || sum.copied != 1 || sum.bytes != 100 || !sum.transient {
		t.Fatalf("summary = %+v", sum)
	}
	if len(images) != 2 || images[0].Name != "alpine" || images[1].Name != "go" {
		t.Fatalf("images = %+v, want alpine and go once each in spec order", images)
	}
	edge := images[0].Tags[1]
	if edge.Synced || edge.Error != "TagNotFound: gone" || edge.SourceDigest != "sha256:old" || !edge.LastSyncTime.Equal(&earlier) {
		t.Fatalf("failed tag keeps its last good digest and time: %+v", edge)
	}
	if a := images[0].Tags[0]; !a.Synced || !a.Verified || a.SourceDigest != "sha256:a" || !a.LastSyncTime.Equal(&now) {
		t.Fatalf("copied tag = %+v", a)
	}
	goTags := images[1].Tags
	if goTags[1].Tag != "*" || !strings.Contains(goTags[1].Error, "ListTagsFailed") {
		t.Fatalf("image-level failure = %+v", goTags[1])
	}
	if goTags[2].ValidationError != "unsigned" || goTags[2].Error != "" || goTags[2].Verified {
		t.Fatalf("gate failure = %+v", goTags[2])
	}
}

// TestFilteredRecords: the tags a run wrote with platforms become the next
// run's record, written digest included, only while the status is of the
// current generation and only for tags that synced.
func TestFilteredRecords(t *testing.T) {
	results := []syncer.TagResult{
		{Image: "app", Tag: "1", Digest: "sha256:s1", WrittenDigest: "sha256:w1", Platforms: []string{"linux/amd64"}, Outcome: syncer.OutcomeCopied},
		{Image: "app", Tag: "2", Digest: "sha256:s2", Platforms: []string{"linux/amd64"}, Outcome: syncer.OutcomeSkipped, Reason: syncer.ReasonUpToDate},
		{Image: "app", Tag: "3", Digest: "sha256:s3", Outcome: syncer.OutcomeCopied},
		{Image: "app", Tag: "4", Digest: "sha256:s4", Outcome: syncer.OutcomeFailed, Reason: syncer.ReasonPlatformMismatch, Message: "is for linux/s390x"},
	}
	images, _ := imageStatuses(&v1alpha1.ImageSyncSpec{Images: []v1alpha1.ImageSpec{{Name: "app"}}}, nil, results, metav1.NewTime(t0), false)
	if tag := images[0].Tags[0]; tag.DestinationDigest != "sha256:w1" || len(tag.Platforms) != 1 {
		t.Fatalf("status of a filtered tag = %+v, want its written digest and platforms", tag)
	}
	is := &v1alpha1.ImageSync{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	is.Status.ObservedGeneration, is.Status.Images = 3, images
	want := map[string]syncer.Filtered{
		"app:1": {Source: "sha256:s1", Written: "sha256:w1", Platforms: []string{"linux/amd64"}},
		"app:2": {Source: "sha256:s2", Written: "sha256:s2", Platforms: []string{"linux/amd64"}},
	}
	if got := filteredRecords(is); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("records = %v, want %v", got, want)
	}
	is.Generation = 4 // the spec changed since: its platforms may have
	if got := filteredRecords(is); len(got) != 0 {
		t.Errorf("records of an older generation = %v, want none", got)
	}
}

func TestStatusIsBounded(t *testing.T) {
	var results []syncer.TagResult
	spec := &v1alpha1.ImageSyncSpec{}
	for i := range 8 {
		name := fmt.Sprintf("img%d", i)
		spec.Images = append(spec.Images, v1alpha1.ImageSpec{Name: name})
		for j := range 150 {
			r := syncer.TagResult{Image: name, Tag: fmt.Sprintf("1.0.%d", j), Outcome: syncer.OutcomeSkipped}
			if j == 149 {
				r.Outcome, r.Reason = syncer.OutcomeFailed, syncer.ReasonTransient
			}
			results = append(results, r)
		}
	}
	images, sum := imageStatuses(spec, nil, results, metav1.NewTime(t0), false)
	listed := 0
	for _, img := range images {
		if len(img.Tags) > maxStatusTagsPerImage {
			t.Fatalf("%s lists %d tags", img.Name, len(img.Tags))
		}
		if len(img.Tags) > 0 && img.Tags[0].Synced {
			t.Fatalf("%s: failures are not listed first", img.Name)
		}
		listed += len(img.Tags)
	}
	if listed != maxStatusTags || sum.listed != maxStatusTags || sum.total != 1200 {
		t.Fatalf("listed %d (summary %d) of %d, want the cap %d", listed, sum.listed, sum.total, maxStatusTags)
	}
	if c := readyCondition(sum, 3); c.Reason != ReasonPartiallyFailed || !strings.Contains(c.Message, "status lists 500 of 1200 tags") || c.ObservedGeneration != 3 {
		t.Fatalf("Ready = %+v", c)
	}
}

func TestReadyCondition(t *testing.T) {
	cases := []struct {
		sum    runSummary
		status metav1.ConditionStatus
		reason string
	}{
		{runSummary{total: 4, synced: 4, copied: 1, listed: 4}, metav1.ConditionTrue, ReasonSynced},
		{runSummary{total: 4, synced: 3, failed: 1, listed: 4}, metav1.ConditionFalse, ReasonPartiallyFailed},
		{runSummary{total: 2, failed: 2, listed: 2}, metav1.ConditionFalse, ReasonFailed},
	}
	for _, tc := range cases {
		if c := readyCondition(tc.sum, 1); c.Status != tc.status || c.Reason != tc.reason || c.Type != v1alpha1.ConditionReady {
			t.Errorf("readyCondition(%+v) = %+v", tc.sum, c)
		}
	}
}
