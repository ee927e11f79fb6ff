package imagesync

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/syncer"
)

// Condition reasons the controller reports.
const (
	ReasonSynced                 = "Synced"
	ReasonPartiallyFailed        = "PartiallyFailed"
	ReasonFailed                 = "Failed"
	ReasonSuspended              = "Suspended"
	ReasonInvalidSpec            = "InvalidSpec"
	ReasonCredentialAccessDenied = "CredentialAccessDenied"
	ReasonCredentialsUnavailable = "CredentialsUnavailable"
	ReasonRegistryNotAllowed     = "RegistryNotAllowed"
	ReasonInProgress             = "InProgress"
	ReasonIdle                   = "Idle"
	ReasonSyncTimedOut           = "SyncTimedOut"

	// Event reasons of createDestinationRepos, named as in the CRD operator
	// Portager replaces.
	ReasonRepoEnsured      = "RepoEnsured"
	ReasonRepoEnsureFailed = "RepoEnsureFailed"
)

// Status stays far below etcd's object size limit whatever maxTags: 0
// resolves to: at most this many tags per image and in all are listed
// (failures first); the counters always cover every tag.
const (
	maxStatusTagsPerImage = 100
	maxStatusTags         = 500
)

// runSummary counts one run's results.
type runSummary struct {
	total, synced, failed, copied int32
	bytes                         int64
	transient                     bool
	// retryAt is the latest Retry-After a registry gave, if any tag was rate limited.
	retryAt metav1.Time
	// listed is how many tag statuses were kept in status.images.
	listed int
}

// imageStatuses turns run results into status.images, keeping what is still
// true from the previous status (the last good digest and sync time of a tag
// that failed this time).
func imageStatuses(spec *v1alpha1.ImageSyncSpec, old []v1alpha1.ImageStatus, results []syncer.TagResult, now metav1.Time, gated bool) ([]v1alpha1.ImageStatus, runSummary) {
	prev := map[string]v1alpha1.TagStatus{}
	for _, img := range old {
		for _, t := range img.Tags {
			prev[img.Name+":"+t.Tag] = t
		}
	}
	byImage := map[string][]v1alpha1.TagStatus{}
	var sum runSummary
	for _, r := range results {
		sum.total++
		ts := v1alpha1.TagStatus{Tag: r.Tag, SourceDigest: r.Digest, Reason: r.Reason}
		if r.Tag == "" {
			// An image-level failure, such as an unreadable tag list.
			ts.Tag = "*"
		}
		p, seen := prev[r.Image+":"+ts.Tag]
		switch r.Outcome {
		case syncer.OutcomeCopied, syncer.OutcomeSkipped:
			sum.synced++
			ts.Synced, ts.LastSyncTime, ts.Verified = true, &now, gated
			ts.DestinationDigest, ts.Platforms = r.WrittenDigest, r.Platforms
			if r.Outcome == syncer.OutcomeCopied {
				sum.copied++
				sum.bytes += r.Bytes
			}
			if r.Reason == syncer.ReasonImmutableTagPresent {
				// Counted up to date without a request: the digest and
				// the gates' verdict are those recorded when it was
				// copied, if this ImageSync copied it.
				ts.SourceDigest, ts.Verified = p.SourceDigest, seen && p.Verified
				ts.DestinationDigest, ts.Platforms = p.DestinationDigest, p.Platforms
			}
		default:
			sum.failed++
			if r.Reason == syncer.ReasonGateFailed {
				ts.ValidationError = r.Message
			} else {
				ts.Error = fmt.Sprintf("%s: %s", r.Reason, r.Message)
			}
			if seen {
				ts.LastSyncTime = p.LastSyncTime
				if ts.SourceDigest == "" {
					ts.SourceDigest = p.SourceDigest
				}
			}
			sum.transient = sum.transient || r.Transient
			if !r.RetryAfter.IsZero() && r.RetryAfter.After(sum.retryAt.Time) {
				sum.retryAt = metav1.NewTime(r.RetryAfter)
			}
		}
		byImage[r.Image] = append(byImage[r.Image], ts)
	}

	var images []v1alpha1.ImageStatus
	seenImage := map[string]bool{}
	budget := maxStatusTags
	for _, spec := range spec.Images {
		if seenImage[spec.Name] {
			continue
		}
		seenImage[spec.Name] = true
		tags := boundTags(byImage[spec.Name], min(maxStatusTagsPerImage, budget))
		budget -= len(tags)
		sum.listed += len(tags)
		images = append(images, v1alpha1.ImageStatus{Name: spec.Name, Tags: tags})
	}
	return images, sum
}

// boundTags keeps at most n tags, failed ones first, each group in order.
func boundTags(tags []v1alpha1.TagStatus, n int) []v1alpha1.TagStatus {
	if len(tags) <= n {
		return tags
	}
	out := make([]v1alpha1.TagStatus, 0, n)
	for _, failed := range []bool{true, false} {
		for _, t := range tags {
			if len(out) < n && t.Synced != failed {
				out = append(out, t)
			}
		}
	}
	return out
}

// readyCondition summarises a finished run.
func readyCondition(sum runSummary, generation int64) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionReady, ObservedGeneration: generation}
	switch {
	case sum.failed == 0:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonSynced
		c.Message = fmt.Sprintf("%d of %d tags synced (%d copied, %d up to date)", sum.synced, sum.total, sum.copied, sum.synced-sum.copied)
	case sum.synced == 0:
		c.Status, c.Reason = metav1.ConditionFalse, ReasonFailed
		c.Message = fmt.Sprintf("all %d tags failed", sum.total)
	default:
		c.Status, c.Reason = metav1.ConditionFalse, ReasonPartiallyFailed
		c.Message = fmt.Sprintf("%d of %d tags failed", sum.failed, sum.total)
	}
	if int32(sum.listed) < sum.total {
		c.Message += fmt.Sprintf("; status lists %d of %d tags, failures first", sum.listed, sum.total)
	}
	return c
}

// filteredRecords is what the tags of the last status say earlier runs
// wrote for tags with platforms (syncer.Request.Filtered), when that status
// is of the current spec: one written for another generation may have been
// filtered to other platforms. Only synced tags count: a failed tag's
// source digest need not be what its destination holds.
func filteredRecords(is *v1alpha1.ImageSync) map[string]syncer.Filtered {
	if is.Status.ObservedGeneration != is.Generation {
		return nil
	}
	out := map[string]syncer.Filtered{}
	for _, img := range is.Status.Images {
		for _, t := range img.Tags {
			if !t.Synced || len(t.Platforms) == 0 || t.SourceDigest == "" {
				continue
			}
			written := t.DestinationDigest
			if written == "" {
				written = t.SourceDigest
			}
			out[img.Name+":"+t.Tag] = syncer.Filtered{Source: t.SourceDigest, Written: written, Platforms: t.Platforms}
		}
	}
	return out
}
