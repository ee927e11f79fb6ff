package integration

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/cmd/server"
)

// TestSchedulesRefused checks that every schedule the controller could not
// run (one that crashed the parser, one that never fires, one shorter than
// the administrator allows) is refused with 422 and the field path, on
// create and on update, and that nothing is stored.
func TestSchedulesRefused(t *testing.T) {
	srv := startServer(t, serverConfig{etcdServers: startEtcd(t), customize: func(o *server.Options) {
		o.MinScheduleInterval = 10 * time.Minute
	}})
	ctx := context.Background()
	c := srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	if _, err := c.Create(ctx, imagesynctest.New(ns, "existing"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cases := []struct{ schedule, want string }{
		{"TZ=UTC", "must be followed by a schedule"},
		{"CRON_TZ=Europe/Berlin", "must be followed by a schedule"},
		{"CRON_TZ=Europe/Berlin ", "must be followed by a schedule"},
		{"0 0 30 2 *", "never fires"},
		{"@every 1s", "at least 10m0s"},
		{"@every 9m", "at least 10m0s"},
		{"*/5 * * * *", "fires 5m0s apart"},
	}
	for _, tc := range cases {
		t.Run(tc.schedule, func(t *testing.T) {
			_, err := c.Create(ctx, imagesynctest.New(ns, "refused", func(is *v1alpha1.ImageSync) { is.Spec.Schedule = tc.schedule }), metav1.CreateOptions{})
			assertInvalidAt(t, err, "spec.schedule", tc.want)
			if _, err := c.Get(ctx, "refused", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("refused object was stored: %v", err)
			}

			patch := `{"spec":{"schedule":` + strconv.Quote(tc.schedule) + `}}`
			_, err = c.Patch(ctx, "existing", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			assertInvalidAt(t, err, "spec.schedule", tc.want)
			got, err := c.Get(ctx, "existing", metav1.GetOptions{})
			if err != nil || got.Spec.Schedule != "@every 6h" || got.Generation != 1 {
				t.Fatalf("refused update changed the object: %v %+v", err, got.Spec.Schedule)
			}
		})
	}

	t.Run("at the limit is accepted", func(t *testing.T) {
		for i, s := range []string{"@every 10m", "*/10 * * * *", "CRON_TZ=Europe/Berlin 0 3 * * *"} {
			name := "ok-" + string(rune('a'+i))
			if _, err := c.Create(ctx, imagesynctest.New(ns, name, func(is *v1alpha1.ImageSync) { is.Spec.Schedule = s }), metav1.CreateOptions{}); err != nil {
				t.Errorf("%q: %v", s, err)
			}
		}
	})
}

// TestMinScheduleIntervalDefault checks the limit a server has without the
// flag: one minute.
func TestMinScheduleIntervalDefault(t *testing.T) {
	srv := startServer(t, serverConfig{etcdServers: startEtcd(t)})
	c := srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	ctx := context.Background()
	_, err := c.Create(ctx, imagesynctest.New(ns, "fast", func(is *v1alpha1.ImageSync) { is.Spec.Schedule = "@every 30s" }), metav1.CreateOptions{})
	assertInvalidAt(t, err, "spec.schedule", "at least 1m0s")
	if _, err := c.Create(ctx, imagesynctest.New(ns, "minutely", func(is *v1alpha1.ImageSync) { is.Spec.Schedule = "* * * * *" }), metav1.CreateOptions{}); err != nil {
		t.Fatalf("every minute: %v", err)
	}
}

// assertInvalidAt checks that err is a 422 with a cause at field whose
// message contains want.
func assertInvalidAt(t *testing.T, err error, field, want string) {
	t.Helper()
	status, ok := err.(apierrors.APIStatus)
	if !ok || status.Status().Code != 422 || !apierrors.IsInvalid(err) {
		t.Fatalf("err = %v, want 422 Invalid", err)
	}
	for _, cause := range status.Status().Details.Causes {
		if cause.Field == field && strings.Contains(cause.Message, want) {
			return
		}
	}
	t.Fatalf("err = %v, want a cause at %s containing %q", err, field, want)
}
