package imagesync

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/portager/portager/pkg/apis/portager"
)

// SyncNowAnnotation is the on-demand trigger of the CRD operator Portager
// replaces. The server turns an update that sets it to "true" into a
// recorded sync request and removes it.
const SyncNowAnnotation = "portager.portager.io/sync-now"

// syncRequestPolicy decides what an on-demand sync request does to an ImageSync.
type syncRequestPolicy struct {
	// minInterval is the least time between two accepted requests for one
	// ImageSync; 0 disables the limit.
	minInterval time.Duration
	now         func() time.Time
	newID       func() string
}

func defaultSyncRequestPolicy(minInterval time.Duration) syncRequestPolicy {
	return syncRequestPolicy{minInterval: minInterval, now: time.Now, newID: func() string { return string(uuid.NewUUID()) }}
}

// record applies a request by requester to status. A pending request absorbs
// the new one (Coalesced); otherwise a new request is recorded (Accepted)
// unless the last accepted one is younger than minInterval, in which case
// nothing changes and retryAfter says how long to wait.
func (p syncRequestPolicy) record(status *portager.ImageSyncStatus, requester string) (receipt portager.ImageSyncRequestStatus, retryAfter time.Duration) {
	if pending := status.PendingSyncRequest; pending != nil {
		return receiptFor(pending, portager.SyncRequestCoalesced), 0
	}
	now := p.now()
	if last := status.LastHandledSyncRequest; last != nil && p.minInterval > 0 {
		if wait := last.RequestedAt.Add(p.minInterval).Sub(now); wait > 0 {
			return portager.ImageSyncRequestStatus{}, wait
		}
	}
	rec := &portager.SyncRequestRecord{
		ID:          p.newID(),
		RequestedAt: metav1.NewTime(now.Truncate(time.Second)),
		Requester:   requester,
	}
	status.PendingSyncRequest = rec
	return receiptFor(rec, portager.SyncRequestAccepted), 0
}

func receiptFor(rec *portager.SyncRequestRecord, result portager.SyncRequestResult) portager.ImageSyncRequestStatus {
	at := rec.RequestedAt
	return portager.ImageSyncRequestStatus{Result: result, RequestID: rec.ID, RequestedAt: &at, Requester: rec.Requester}
}
