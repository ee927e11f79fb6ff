package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
)

type syncOptions struct {
	*options
	wait    bool
	timeout time.Duration
	dryRun  bool
}

func newSyncCommand(o *options) *cobra.Command {
	so := &syncOptions{options: o}
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Ask the controller to sync an ImageSync now",
		Long: `sync posts an ImageSyncRequest to the imagesyncs/NAME/sync subresource. The
server records it (or joins it to a pending request) and the controller runs
the sync. With --wait, it follows the run that handles the request and prints
its per-tag results; it exits non-zero if a tag failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return so.run(cmd.Context(), args[0])
		},
	}
	cmd.Flags().BoolVar(&so.wait, "wait", false, "Wait until the run that handles the request ends, then print per-tag results.")
	cmd.Flags().DurationVar(&so.timeout, "timeout", 15*time.Minute, "How long --wait waits.")
	cmd.Flags().BoolVar(&so.dryRun, "dry-run", false, "Validate the request on the server without recording it.")
	return cmd
}

// errTagsFailed makes the command exit non-zero when the handled run failed tags.
var errTagsFailed = errors.New("some tags failed to sync")

func (so *syncOptions) run(ctx context.Context, name string) error {
	cs, ns, err := so.client()
	if err != nil {
		return err
	}
	receipt, err := requestSync(ctx, cs, ns, name, so.dryRun)
	if err != nil {
		return err
	}
	st := receipt.Status
	switch st.Result {
	case v1alpha1.SyncRequestCoalesced:
		fmt.Fprintf(so.out, "imagesync/%s: joined pending sync request %s (requested by %s)\n", name, st.RequestID, st.Requester)
	default:
		fmt.Fprintf(so.out, "imagesync/%s: sync request %s accepted\n", name, st.RequestID)
	}
	if !so.wait || so.dryRun {
		return nil
	}

	ctx, cancel := context.WithTimeout(ctx, so.timeout)
	defer cancel()
	is, err := waitForRequest(ctx, cs, ns, name, st.RequestID, func(msg string) {
		fmt.Fprintf(so.out, "  %s\n", msg)
	})
	if err != nil {
		return err
	}
	printStatus(so.out, is, time.Now())
	if is.Status.FailedImages > 0 {
		return errTagsFailed
	}
	return nil
}

// requestSync posts the request. It does not retry a 429 the way client-go
// would (sleeping out Retry-After); it tells the user when to try again.
func requestSync(ctx context.Context, cs clientset.Interface, ns, name string, dryRun bool) (*v1alpha1.ImageSyncRequest, error) {
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	out := &v1alpha1.ImageSyncRequest{}
	err := cs.PortagerV1alpha1().RESTClient().Post().
		Namespace(ns).Resource("imagesyncs").Name(name).SubResource("sync").
		VersionedParams(&opts, metav1.ParameterCodec).
		Body(&v1alpha1.ImageSyncRequest{}).
		MaxRetries(0).
		Do(ctx).Into(out)
	if apierrors.IsTooManyRequests(err) {
		if secs, ok := apierrors.SuggestsClientDelay(err); ok {
			return nil, fmt.Errorf("imagesync/%s was synced on request recently; try again in %s", name, time.Duration(secs)*time.Second)
		}
	}
	return out, err
}

// waitForRequest watches the ImageSync until the controller reports the
// request as handled, calling progress with each new Syncing message.
func waitForRequest(ctx context.Context, cs clientset.Interface, ns, name, id string, progress func(string)) (*v1alpha1.ImageSync, error) {
	client := cs.PortagerV1alpha1().ImageSyncs(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
			return client.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
			return client.Watch(ctx, o)
		},
	}
	var lastMsg string
	ev, err := watchtools.UntilWithSync(ctx, lw, &v1alpha1.ImageSync{}, nil, func(ev watch.Event) (bool, error) {
		switch ev.Type {
		case watch.Deleted:
			return false, fmt.Errorf("imagesync/%s was deleted", name)
		case watch.Added, watch.Modified:
		default:
			return false, nil
		}
		is := ev.Object.(*v1alpha1.ImageSync)
		if h := is.Status.LastHandledSyncRequest; h != nil && h.ID == id {
			return true, nil
		}
		if is.Spec.Suspend {
			return false, fmt.Errorf("imagesync/%s is suspended; the request runs when spec.suspend is false again", name)
		}
		if c := meta.FindStatusCondition(is.Status.Conditions, v1alpha1.ConditionSyncing); c != nil && c.Status == metav1.ConditionTrue && c.Message != lastMsg {
			lastMsg = c.Message
			progress(c.Message)
		}
		return false, nil
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, watchtools.ErrWatchClosed) {
			return nil, fmt.Errorf("imagesync/%s: request %s not handled yet: %w", name, id, err)
		}
		return nil, err
	}
	return ev.Object.(*v1alpha1.ImageSync), nil
}
