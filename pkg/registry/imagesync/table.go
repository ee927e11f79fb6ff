package imagesync

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"

	"github.com/portager/portager/pkg/registry/table"
)

// tableConvertor prints ImageSyncs for kubectl get. Columns with priority 1
// appear only with -o wide.
type tableConvertor struct {
	// now is the clock for relative times; tests pin it.
	now func() time.Time
}

var _ rest.TableConvertor = tableConvertor{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the ImageSync."},
	{Name: "Schedule", Type: "string", Description: "Cron schedule of the sync."},
	{Name: "Route", Type: "string", Description: "Source registry → destination registry and prefix."},
	{Name: "Synced", Type: "string", Description: "Image+tag combinations synced or up to date, of the total."},
	{Name: "Failed", Type: "integer", Description: "Image+tag combinations that failed in the last run."},
	{Name: "Last Sync", Type: "string", Description: "Time since the last sync attempt."},
	{Name: "Next Sync", Type: "string", Description: "Time until the next scheduled sync."},
	{Name: "Ready", Type: "string", Description: "Status of the Ready condition."},
	{Name: "Age", Type: "string", Description: "Time since the ImageSync was created."},
	{Name: "Images", Type: "integer", Priority: 1, Description: "Number of images listed in the spec."},
	{Name: "Suspend", Type: "boolean", Priority: 1, Description: "Whether syncing is suspended."},
	{Name: "Reason", Type: "string", Priority: 1, Description: "Reason of the Ready condition."},
	{Name: "Message", Type: "string", Priority: 1, Description: "Message of the Ready condition."},
}

func (c tableConvertor) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	now := c.now()
	return table.Convert(object, tableOptions, columns, func(is *portager.ImageSync) metav1.TableRow { return row(is, now) })
}

func row(is *portager.ImageSync, now time.Time) metav1.TableRow {
	ready, reason, message := "Unknown", "", ""
	if c := meta.FindStatusCondition(is.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		ready, reason, message = string(c.Status), c.Reason, c.Message
	}
	return metav1.TableRow{
		Object: runtime.RawExtension{Object: is},
		Cells: []any{
			is.Name,
			is.Spec.Schedule,
			route(&is.Spec),
			fmt.Sprintf("%d/%d", is.Status.SyncedImages, is.Status.TotalImages),
			int64(is.Status.FailedImages),
			since(is.Status.LastSyncTime, now),
			until(is, now),
			ready,
			since(&is.CreationTimestamp, now),
			int64(len(is.Spec.Images)),
			is.Spec.Suspend,
			reason,
			message,
		},
	}
}

func route(spec *portager.ImageSyncSpec) string {
	dst := spec.Destination.Registry
	if p := strings.Trim(spec.Destination.RepositoryPrefix, "/"); p != "" {
		dst += "/" + p
	}
	return spec.Source.Registry + " → " + dst
}

// since prints how long ago t was, like kubectl's AGE column.
func since(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "<never>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// until prints when the next sync is due, relative to now ("in 12m").
func until(is *portager.ImageSync, now time.Time) string {
	switch next := is.Status.NextSyncTime; {
	case is.Spec.Suspend:
		return "<suspended>"
	case next == nil || next.IsZero():
		return "<unknown>"
	case !next.After(now):
		return "due"
	default:
		return "in " + duration.HumanDuration(next.Sub(now))
	}
}
