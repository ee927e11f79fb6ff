package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/cmd/server"
	applyv1alpha1 "github.com/portager/portager/pkg/generated/applyconfiguration/portager/v1alpha1"
	"github.com/portager/portager/pkg/generated/clientset/versioned/scheme"
)

const ns = "default"

func clientsetScheme() runtime.NegotiatedSerializer { return scheme.Codecs.WithoutConversion() }

func TestImageSyncAPI(t *testing.T) {
	srv := startServer(t, serverConfig{etcdServers: startEtcd(t)})
	ctx := context.Background()
	c := srv.Client.PortagerV1alpha1().ImageSyncs(ns)

	t.Run("create get list update patch delete", func(t *testing.T) {
		created, err := c.Create(ctx, imagesynctest.New(ns, "crud"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if created.Generation != 1 || created.UID == "" {
			t.Fatalf("created generation=%d uid=%q", created.Generation, created.UID)
		}
		got, err := c.Get(ctx, "crud", metav1.GetOptions{})
		if err != nil || got.Spec.Images[0].Tags[1] != "latest" {
			t.Fatalf("get: %v %+v", err, got)
		}
		list, err := c.List(ctx, metav1.ListOptions{})
		if err != nil || !hasItem(list, "crud") {
			t.Fatalf("list: %v", err)
		}

		got.Spec.Images[0].Tags = append(got.Spec.Images[0].Tags, "edge")
		updated, err := c.Update(ctx, got, metav1.UpdateOptions{})
		if err != nil || len(updated.Spec.Images[0].Tags) != 3 {
			t.Fatalf("update: %v", err)
		}

		merged, err := c.Patch(ctx, "crud", types.MergePatchType, []byte(`{"spec":{"schedule":"0 */2 * * *"}}`), metav1.PatchOptions{})
		if err != nil || merged.Spec.Schedule != "0 */2 * * *" {
			t.Fatalf("merge patch: %v", err)
		}
		jsonPatched, err := c.Patch(ctx, "crud", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/suspend","value":true}]`), metav1.PatchOptions{})
		if err != nil || !jsonPatched.Spec.Suspend {
			t.Fatalf("json patch: %v", err)
		}

		if err := c.Delete(ctx, "crud", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(ctx, "crud", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("get after delete: %v, want NotFound", err)
		}
	})

	t.Run("watch", func(t *testing.T) {
		w, err := c.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=watched"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if _, err := c.Create(ctx, imagesynctest.New(ns, "watched"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Patch(ctx, "watched", types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"a"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, "watched", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		var events []watch.EventType
		timeout := time.After(30 * time.Second)
		for len(events) < 3 {
			select {
			case ev := <-w.ResultChan():
				events = append(events, ev.Type)
			case <-timeout:
				t.Fatalf("watch events so far: %v", events)
			}
		}
		if events[0] != watch.Added || events[1] != watch.Modified || events[2] != watch.Deleted {
			t.Fatalf("watch events = %v, want ADDED MODIFIED DELETED", events)
		}
	})

	t.Run("server-side apply records managedFields", func(t *testing.T) {
		cfg := applyv1alpha1.ImageSync("applied", ns).WithSpec(applyv1alpha1.ImageSyncSpec().
			WithSchedule("@every 1h").
			WithSource(applyv1alpha1.SourceRegistry().WithRegistry("ghcr.io/org")).
			WithDestination(applyv1alpha1.DestinationRegistry().WithRegistry("registry.example.com").
				WithAuth(applyv1alpha1.DestinationAuth().WithMethod(v1alpha1.AuthMethodAnonymous))).
			WithImages(applyv1alpha1.ImageSpec().WithName("app").WithSemver("^1.2").WithMaxTags(3)))
		applied, err := c.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "platform-team", Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if !hasManager(applied.ManagedFields, "platform-team", metav1.ManagedFieldsOperationApply, "") {
			t.Fatalf("managedFields = %+v, want an Apply entry by platform-team", applied.ManagedFields)
		}
		// A second manager applying a conflicting schedule is refused without force.
		other := applyv1alpha1.ImageSync("applied", ns).WithSpec(applyv1alpha1.ImageSyncSpec().WithSchedule("@every 2h"))
		if _, err := c.Apply(ctx, other, metav1.ApplyOptions{FieldManager: "someone-else"}); !apierrors.IsConflict(err) {
			t.Fatalf("conflicting apply: %v, want Conflict", err)
		}
		// Status applied through the status subresource is owned there.
		st := applyv1alpha1.ImageSync("applied", ns).WithStatus(applyv1alpha1.ImageSyncStatus().WithTotalImages(3).WithSyncedImages(2))
		withStatus, err := c.ApplyStatus(ctx, st, metav1.ApplyOptions{FieldManager: "portager-controller", Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if withStatus.Status.SyncedImages != 2 || !hasManager(withStatus.ManagedFields, "portager-controller", metav1.ManagedFieldsOperationApply, "status") {
			t.Fatalf("status apply: %+v %+v", withStatus.Status, withStatus.ManagedFields)
		}
		if withStatus.Generation != applied.Generation {
			t.Fatalf("status apply bumped generation %d -> %d", applied.Generation, withStatus.Generation)
		}
	})

	t.Run("status isolation and generation", func(t *testing.T) {
		is, err := c.Create(ctx, imagesynctest.New(ns, "iso"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A status written through the main resource is dropped.
		is.Status.TotalImages = 42
		is.Labels = map[string]string{"team": "a"}
		is, err = c.Update(ctx, is, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if is.Status.TotalImages != 0 {
			t.Fatalf("main resource wrote status: %+v", is.Status)
		}
		if is.Generation != 1 {
			t.Fatalf("label change bumped generation to %d", is.Generation)
		}

		// A spec written through status is dropped; status is kept.
		is.Spec.Schedule = "@every 1m"
		is.Status.TotalImages = 2
		is.Status.ObservedGeneration = 1
		is.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Synced", LastTransitionTime: metav1.Now()}}
		is, err = c.UpdateStatus(ctx, is, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if is.Spec.Schedule != "@every 6h" || is.Status.TotalImages != 2 || is.Generation != 1 {
			t.Fatalf("status write: schedule=%q total=%d generation=%d", is.Spec.Schedule, is.Status.TotalImages, is.Generation)
		}

		// A spec change bumps the generation; the status survives it.
		is.Spec.Schedule = "@every 2h"
		is, err = c.Update(ctx, is, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if is.Generation != 2 || is.Status.TotalImages != 2 {
			t.Fatalf("spec change: generation=%d total=%d", is.Generation, is.Status.TotalImages)
		}
		// A no-op update does not.
		is, err = c.Update(ctx, is, metav1.UpdateOptions{})
		if err != nil || is.Generation != 2 {
			t.Fatalf("no-op update: generation=%d err=%v", is.Generation, err)
		}
	})

	t.Run("server-only status fields cannot be written through status", func(t *testing.T) {
		is, err := c.Create(ctx, imagesynctest.New(ns, "forge"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		is.Status.SecretAccessIdentity = &v1alpha1.UserIdentity{Username: "system:admin"}
		is.Status.PendingSyncRequest = &v1alpha1.SyncRequestRecord{ID: "forged", RequestedAt: metav1.Now()}
		is, err = c.UpdateStatus(ctx, is, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if is.Status.SecretAccessIdentity != nil || is.Status.PendingSyncRequest != nil {
			t.Fatalf("status write set server-only fields: %+v", is.Status)
		}
	})

	t.Run("validation errors name the field", func(t *testing.T) {
		bad := imagesynctest.New(ns, "bad", func(is *v1alpha1.ImageSync) {
			is.Spec.Images[0].Semver = ">>1"
			is.Spec.Source.Registry = "https://docker.io"
		})
		_, err := c.Create(ctx, bad, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Fatalf("create invalid: %v, want Invalid", err)
		}
		fields := causeFields(err)
		if !fields["spec.images[0].semver"] || !fields["spec.source.registry"] {
			t.Fatalf("causes = %v, want spec.images[0].semver and spec.source.registry", fields)
		}
	})

	t.Run("warnings", func(t *testing.T) {
		srv.Warnings.Take()
		risky := imagesynctest.New(ns, "risky", func(is *v1alpha1.ImageSync) {
			is.Spec.Schedule = "@every 1m"
			is.Spec.Images = []v1alpha1.ImageSpec{{Name: "nginx", Semver: ">=1.0"}}
			is.Spec.Validation = &v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{Enabled: true, KeylessIssuer: "https://token.actions.githubusercontent.com"}}
		})
		if _, err := c.Create(ctx, risky, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(srv.Warnings.Take(), "\n")
		for _, want := range []string{"spec.validation.cosign.keylessIssuer", "spec.images[0].semver", "spec.schedule"} {
			if !strings.Contains(got, want) {
				t.Errorf("warnings %q lack %q", got, want)
			}
		}
	})

	t.Run("defaults", func(t *testing.T) {
		is := imagesynctest.New(ns, "defaulted", func(is *v1alpha1.ImageSync) {
			is.Spec.Validation = &v1alpha1.ValidationSpec{VulnerabilityGate: &v1alpha1.VulnerabilityGate{Enabled: true, MaxSeverity: v1alpha1.SeverityHigh}}
		})
		got, err := c.Create(ctx, is, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rc := got.Spec.Validation.VulnerabilityGate.RequireCveReport; rc == nil || !*rc {
			t.Fatalf("requireCveReport = %v, want defaulted to true", rc)
		}
	})

	t.Run("field selectors", func(t *testing.T) {
		for _, is := range []*v1alpha1.ImageSync{
			imagesynctest.New(ns, "fs-ghcr", func(is *v1alpha1.ImageSync) { is.Spec.Source.Registry = "ghcr.io/fs" }),
			imagesynctest.New(ns, "fs-quay", func(is *v1alpha1.ImageSync) {
				is.Spec.Source.Registry = "quay.io/fs"
				is.Spec.Suspend = true
				is.Spec.Destination.Registry = "harbor.example.com"
			}),
		} {
			if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for selector, want := range map[string]string{
			"spec.source.registry=ghcr.io/fs":                    "fs-ghcr",
			"spec.destination.registry=harbor.example.com":       "fs-quay",
			"spec.suspend=true":                                  "fs-quay",
			"spec.suspend=false,spec.source.registry=ghcr.io/fs": "fs-ghcr",
		} {
			list, err := c.List(ctx, metav1.ListOptions{FieldSelector: selector})
			if err != nil {
				t.Fatalf("%s: %v", selector, err)
			}
			if len(list.Items) != 1 || list.Items[0].Name != want {
				t.Errorf("%s: got %v, want only %s", selector, names(list), want)
			}
		}
		if _, err := c.List(ctx, metav1.ListOptions{FieldSelector: "spec.schedule=@hourly"}); !apierrors.IsBadRequest(err) {
			t.Errorf("unsupported field selector: %v, want BadRequest", err)
		}
	})

	t.Run("table", func(t *testing.T) {
		is, err := c.Create(ctx, imagesynctest.New(ns, "table"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		is.Status = v1alpha1.ImageSyncStatus{
			TotalImages: 4, SyncedImages: 3, FailedImages: 1,
			LastSyncTime: &metav1.Time{Time: now.Add(-30 * time.Minute)},
			NextSyncTime: &metav1.Time{Time: now.Add(12*time.Minute + 30*time.Second)},
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "PartiallyFailed",
				Message: "1 of 4 tags failed", LastTransitionTime: metav1.Now()}},
		}
		if _, err := c.UpdateStatus(ctx, is, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		table := getTable(t, srv.Config, "/apis/portager.portager.io/v1alpha1/namespaces/default/imagesyncs/table")
		want := map[string]any{
			"Name": "table", "Schedule": "@every 6h", "Route": "docker.io/library → registry.example.com/mirror",
			"Synced": "3/4", "Failed": float64(1), "Last Sync": "30m", "Next Sync": "in 12m", "Ready": "False",
			"Images": float64(1), "Suspend": false, "Reason": "PartiallyFailed", "Message": "1 of 4 tags failed",
		}
		if len(table.Rows) != 1 {
			t.Fatalf("rows = %d", len(table.Rows))
		}
		for i, col := range table.ColumnDefinitions {
			if w, ok := want[col.Name]; ok && table.Rows[0].Cells[i] != w {
				t.Errorf("column %q = %#v, want %#v", col.Name, table.Rows[0].Cells[i], w)
			}
			delete(want, col.Name)
		}
		if len(want) != 0 {
			t.Errorf("missing columns: %v", want)
		}
		list := getTable(t, srv.Config, "/apis/portager.portager.io/v1alpha1/namespaces/default/imagesyncs")
		if len(list.Rows) < 2 {
			t.Errorf("list table has %d rows", len(list.Rows))
		}
	})

	t.Run("dry run", func(t *testing.T) {
		dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
		got, err := c.Create(ctx, imagesynctest.New(ns, "dry"), dry)
		if err != nil || got.Name != "dry" {
			t.Fatalf("dry-run create: %v", err)
		}
		if _, err := c.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("dry-run create persisted: %v", err)
		}
		if _, err := c.Create(ctx, imagesynctest.New(ns, "dry-bad", func(is *v1alpha1.ImageSync) { is.Spec.Schedule = "x" }), dry); !apierrors.IsInvalid(err) {
			t.Fatalf("dry-run of an invalid object: %v, want Invalid", err)
		}
		real, err := c.Create(ctx, imagesynctest.New(ns, "dry-update"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		real.Spec.Suspend = true
		if _, err := c.Update(ctx, real, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatal(err)
		}
		after, _ := c.Get(ctx, "dry-update", metav1.GetOptions{})
		if after.Spec.Suspend || after.Generation != 1 {
			t.Fatalf("dry-run update persisted: suspend=%v generation=%d", after.Spec.Suspend, after.Generation)
		}
	})
}

// TestEmbeddedEtcdSurvivesRestart stores objects through a server on an
// embedded etcd, stops it, starts a new one on the same directory, and finds
// every object with the same uid and resourceVersion.
func TestEmbeddedEtcdSurvivesRestart(t *testing.T) {
	dataDir := t.TempDir() + "/etcd"
	prefix := func(o *server.Options) {
		o.RecommendedOptions.Etcd.StorageConfig.Prefix = "/registry/portager.portager.io"
	}
	ctx := context.Background()

	first := startServer(t, serverConfig{dataDir: dataDir, customize: prefix})
	want := map[string]*v1alpha1.ImageSync{}
	for _, name := range []string{"one", "two", "three"} {
		is, err := first.Client.PortagerV1alpha1().ImageSyncs(ns).Create(ctx, imagesynctest.New(ns, name), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want[name] = is
	}
	first.Stop()

	second := startServer(t, serverConfig{dataDir: dataDir, customize: prefix})
	list, err := second.Client.PortagerV1alpha1().ImageSyncs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != len(want) {
		t.Fatalf("after restart: %v, want %d objects", names(list), len(want))
	}
	for _, got := range list.Items {
		w := want[got.Name]
		if w == nil || got.UID != w.UID || got.ResourceVersion != w.ResourceVersion {
			t.Errorf("after restart %s: uid=%s rv=%s, want uid=%s rv=%s", got.Name, got.UID, got.ResourceVersion, w.UID, w.ResourceVersion)
		}
	}
}

func getTable(t *testing.T, cfg *rest.Config, path string) *metav1.Table {
	t.Helper()
	rc, err := rest.UnversionedRESTClientFor(withNegotiation(cfg))
	if err != nil {
		t.Fatal(err)
	}
	body, err := rc.Get().AbsPath(path).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json").
		Param("includeObject", "None").
		DoRaw(context.Background())
	if err != nil {
		t.Fatalf("GET %s as Table: %v", path, err)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatal(err)
	}
	if table.Kind != "Table" {
		t.Fatalf("got kind %q, want Table", table.Kind)
	}
	return &table
}

func hasItem(list *v1alpha1.ImageSyncList, name string) bool {
	for _, is := range list.Items {
		if is.Name == name {
			return true
		}
	}
	return false
}

func names(list *v1alpha1.ImageSyncList) []string {
	var out []string
	for _, is := range list.Items {
		out = append(out, is.Name)
	}
	return out
}

func hasManager(entries []metav1.ManagedFieldsEntry, manager string, op metav1.ManagedFieldsOperationType, subresource string) bool {
	for _, e := range entries {
		if e.Manager == manager && e.Operation == op && e.Subresource == subresource {
			return true
		}
	}
	return false
}

func causeFields(err error) map[string]bool {
	out := map[string]bool{}
	var status apierrors.APIStatus
	if s, ok := err.(apierrors.APIStatus); ok {
		status = s
	}
	if status == nil || status.Status().Details == nil {
		return out
	}
	for _, c := range status.Status().Details.Causes {
		out[c.Field] = true
	}
	return out
}
