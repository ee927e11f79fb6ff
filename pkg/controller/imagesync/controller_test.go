package imagesync

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/generated/clientset/versioned/fake"
	informers "github.com/portager/portager/pkg/generated/informers/externalversions"
	"github.com/portager/portager/pkg/syncer"
)

const testNamespace = "team-a"

// noResolver resolves nothing: the tests name registries by IP address.
type noResolver struct{}

func (noResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, errors.New("no resolver in unit tests")
}

// fixture is a controller on a fake clientset whose tracker implements
// server-side apply with managed fields (fake.NewClientset), with the
// informer caches filled by hand, as k8s.io/sample-controller tests do.
type fixture struct {
	t      *testing.T
	client *fake.Clientset
	kube   *kubefake.Clientset
	events *record.FakeRecorder
	ctrl   *Controller
	now    time.Time
}

func newFixture(t *testing.T, is *v1alpha1.ImageSync, policies []*v1alpha1.RegistryPolicy, insecureHosts ...string) *fixture {
	t.Helper()
	objs := []runtime.Object{is.DeepCopy()}
	for _, p := range policies {
		objs = append(objs, p)
	}
	f := &fixture{
		t:      t,
		client: fake.NewClientset(objs...),
		kube:   kubefake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNamespace}}),
		events: record.NewFakeRecorder(100),
		now:    t0,
	}
	factory := informers.NewSharedInformerFactory(f.client, 0)
	syncs := factory.Portager().V1alpha1().ImageSyncs()
	policyInformer := factory.Portager().V1alpha1().RegistryPolicies()
	ctrl, err := New(Config{
		Client: f.client, Kube: f.kube,
		Informer: syncs, PolicyInformer: policyInformer,
		Resolver:      noResolver{},
		EngineOptions: syncer.Options{RegistryOptions: syncer.RegistryOptions{MaxRetries: -1, InsecureHosts: insecureHosts}},
		Recorder:      f.events,
		Metrics:       NewMetrics(func() float64 { return 0 }),
		RetryBase:     time.Second,
		RetryCap:      time.Minute,
		Now:           func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ctrl.queue.ShutDown)
	f.ctrl = ctrl
	if err := syncs.Informer().GetIndexer().Add(is); err != nil {
		t.Fatal(err)
	}
	for _, p := range policies {
		if err := policyInformer.Informer().GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// stored is the ImageSync as the fake API holds it now.
func (f *fixture) stored(name string) *v1alpha1.ImageSync {
	f.t.Helper()
	is, err := f.client.PortagerV1alpha1().ImageSyncs(testNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return is
}

// statusApplies returns the body of each server-side apply of status,
// checking that each went to the status subresource under FieldManager with
// force, and how many merge patches cleared status.nextSyncTime. It fails
// on any other write.
func (f *fixture) statusApplies() (bodies []map[string]any, clears int) {
	f.t.Helper()
	for _, a := range f.client.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		p, ok := a.(clienttesting.PatchActionImpl)
		if ok && p.GetPatchType() == types.MergePatchType && string(p.GetPatch()) == clearNextSyncTime &&
			p.GetSubresource() == "status" && p.PatchOptions.FieldManager == FieldManager {
			clears++
			continue
		}
		if !ok || p.GetPatchType() != types.ApplyPatchType {
			f.t.Fatalf("unexpected write %s %s/%s", a.GetVerb(), a.GetResource().Resource, a.GetSubresource())
		}
		if p.GetSubresource() != "status" || p.PatchOptions.FieldManager != FieldManager || p.PatchOptions.Force == nil || !*p.PatchOptions.Force {
			f.t.Fatalf("apply to %q as %q (force %v), want status as %q with force", p.GetSubresource(), p.PatchOptions.FieldManager, p.PatchOptions.Force, FieldManager)
		}
		var body map[string]any
		if err := json.Unmarshal(p.GetPatch(), &body); err != nil {
			f.t.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	return bodies, clears
}

// serverOnlyFieldsSent names the server-only fields an apply body carries.
func serverOnlyFieldsSent(body map[string]any) []string {
	st, _ := body["status"].(map[string]any)
	var sent []string
	for _, k := range []string{"pendingSyncRequest", "secretAccessIdentity"} {
		if _, ok := st[k]; ok {
			sent = append(sent, k)
		}
	}
	return sent
}

func testImageSync(name string, mutate ...func(*v1alpha1.ImageSync)) *v1alpha1.ImageSync {
	is := imagesynctest.New(testNamespace, name)
	is.Generation, is.CreationTimestamp = 2, metav1.NewTime(t0.Add(-time.Hour))
	is.Spec.Schedule = "@every 1h"
	is.Spec.Source.Registry = "127.0.0.1:1/upstream"
	is.Spec.Destination.Registry = "127.0.0.1:2"
	is.Spec.Images = []v1alpha1.ImageSpec{{Name: "alpine", Tags: []string{"3.21"}}}
	is.Status = v1alpha1.ImageSyncStatus{
		ObservedGeneration: 2,
		LastSyncTime:       &metav1.Time{Time: t0.Add(-30 * time.Minute)},
		NextSyncTime:       &metav1.Time{Time: t0.Add(30 * time.Minute)},
		TotalImages:        1, SyncedImages: 1,
		Images: []v1alpha1.ImageStatus{{Name: "alpine", Tags: []v1alpha1.TagStatus{{Tag: "3.21", Synced: true, SourceDigest: "sha256:old"}}}},
		Conditions: []metav1.Condition{
			{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonSynced, Message: "1 of 1 tags synced", ObservedGeneration: 2, LastTransitionTime: metav1.NewTime(t0.Add(-2 * time.Hour))},
			{Type: v1alpha1.ConditionSyncing, Status: metav1.ConditionFalse, Reason: ReasonIdle, Message: "last run took 1s", ObservedGeneration: 2, LastTransitionTime: metav1.NewTime(t0.Add(-2 * time.Hour))},
		},
		// Recorded by the server only.
		SecretAccessIdentity: &v1alpha1.UserIdentity{Username: "alice"},
	}
	for _, m := range mutate {
		m(is)
	}
	return is
}

func TestReconcileStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		is     *v1alpha1.ImageSync
		writes int
		// clears counts merge patches removing nextSyncTime: the fixture's
		// status was not written by this field manager, so an apply that
		// omits nextSyncTime leaves it.
		clears int
		check  func(t *testing.T, got *v1alpha1.ImageSync)
	}{
		{
			name: "a schedule that cannot run is reported and nextSyncTime cleared",
			is: testImageSync("bad-schedule", func(is *v1alpha1.ImageSync) {
				is.Spec.Schedule = "not a schedule"
				is.Generation = 3
			}),
			writes: 1,
			clears: 1,
			check: func(t *testing.T, got *v1alpha1.ImageSync) {
				r := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
				if r == nil || r.Status != metav1.ConditionFalse || r.Reason != ReasonInvalidSpec || !strings.HasPrefix(r.Message, "spec.schedule ") || r.ObservedGeneration != 3 {
					t.Errorf("Ready = %+v, want False InvalidSpec about spec.schedule at generation 3", r)
				}
				if got.Status.ObservedGeneration != 3 || got.Status.NextSyncTime != nil {
					t.Errorf("observedGeneration = %d, nextSyncTime = %v; want 3 and none", got.Status.ObservedGeneration, got.Status.NextSyncTime)
				}
			},
		},
		{
			name:   "suspending says so on both conditions and clears nextSyncTime",
			is:     testImageSync("suspend", func(is *v1alpha1.ImageSync) { is.Spec.Suspend = true }),
			writes: 1,
			clears: 1,
			check: func(t *testing.T, got *v1alpha1.ImageSync) {
				r := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
				s := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionSyncing)
				if r == nil || r.Status != metav1.ConditionFalse || r.Reason != ReasonSuspended {
					t.Errorf("Ready = %+v, want False Suspended", r)
				}
				if r != nil && !r.LastTransitionTime.After(t0.Add(-time.Hour)) {
					t.Errorf("Ready went True to False but kept its transition time %s", r.LastTransitionTime)
				}
				if s == nil || s.Status != metav1.ConditionFalse || s.Reason != ReasonSuspended {
					t.Errorf("Syncing = %+v, want False Suspended", s)
				}
				if s != nil && !s.LastTransitionTime.Equal(&metav1.Time{Time: t0.Add(-2 * time.Hour)}) {
					t.Errorf("Syncing stayed False but its transition time moved to %s", s.LastTransitionTime)
				}
				if got.Status.NextSyncTime != nil {
					t.Errorf("nextSyncTime = %s, want none", got.Status.NextSyncTime)
				}
			},
		},
		{
			name: "an ImageSync already marked suspended is not written",
			is: testImageSync("suspended", func(is *v1alpha1.ImageSync) {
				is.Spec.Suspend = true
				is.Status.NextSyncTime = nil
				is.Status.Conditions[0].Status, is.Status.Conditions[0].Reason = metav1.ConditionFalse, ReasonSuspended
			}),
			writes: 0,
		},
		{
			name: "a stale nextSyncTime is corrected and nothing else changes",
			is: testImageSync("stale-next", func(is *v1alpha1.ImageSync) {
				is.Status.NextSyncTime = &metav1.Time{Time: t0.Add(5 * time.Hour)}
			}),
			writes: 1,
			check: func(t *testing.T, got *v1alpha1.ImageSync) {
				if want := t0.Add(30 * time.Minute); got.Status.NextSyncTime == nil || !got.Status.NextSyncTime.Time.Equal(want) {
					t.Errorf("nextSyncTime = %v, want %s", got.Status.NextSyncTime, want)
				}
				want := testImageSync("").Status
				got.Status.NextSyncTime, want.NextSyncTime = nil, nil
				if gs, ws := mustJSON(t, got.Status), mustJSON(t, want); gs != ws {
					t.Errorf("status = %s\nwant   %s", gs, ws)
				}
			},
		},
		{
			name:   "an ImageSync that is not due and whose status is current is not written",
			is:     testImageSync("current"),
			writes: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.is, nil)
			if err := f.ctrl.reconcile(context.Background(), cache.MetaObjectToName(tc.is)); err != nil {
				t.Fatal(err)
			}
			applies, clears := f.statusApplies()
			if len(applies) != tc.writes || clears != tc.clears {
				t.Fatalf("%d status applies and %d nextSyncTime clears, want %d and %d", len(applies), clears, tc.writes, tc.clears)
			}
			for _, body := range applies {
				if sent := serverOnlyFieldsSent(body); len(sent) > 0 {
					t.Errorf("apply sent server-only fields %v", sent)
				}
				conds, _ := body["status"].(map[string]any)["conditions"].([]any)
				if len(conds) != 2 {
					t.Errorf("apply sent %d conditions, want both Ready and Syncing every time", len(conds))
				}
			}
			got := f.stored(tc.is.Name)
			if id := got.Status.SecretAccessIdentity; id == nil || id.Username != "alice" {
				t.Errorf("secretAccessIdentity = %+v, want alice kept", id)
			}
			if tc.writes == 0 {
				if gs, ws := mustJSON(t, got.Status), mustJSON(t, tc.is.Status); gs != ws {
					t.Errorf("status changed without a write: %s", gs)
				}
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testRegistry is the shared test registry holding upstream/alpine:3.21.
func testRegistry(t *testing.T) (host, digest string) {
	t.Helper()
	reg := registrytest.New(t)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	reg.Push("upstream/alpine:3.21", img)
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return reg.Host, d.String()
}

func allowPolicy(hosts ...string) *v1alpha1.RegistryPolicy {
	p := &v1alpha1.RegistryPolicy{ObjectMeta: metav1.ObjectMeta{Name: "loopback"}}
	for _, h := range hosts {
		p.Spec.Sources = append(p.Spec.Sources, v1alpha1.RegistryEntry{Registry: h})
		p.Spec.Destinations = append(p.Spec.Destinations, v1alpha1.RegistryEntry{Registry: h})
	}
	return p
}

func TestRun(t *testing.T) {
	host, digest := testRegistry(t)
	request := &v1alpha1.SyncRequestRecord{ID: "req-1", RequestedAt: metav1.NewTime(t0.Add(-time.Minute)), Requester: "bob"}
	onLoopback := func(is *v1alpha1.ImageSync) {
		is.Spec.Source.Registry = host + "/upstream"
		is.Spec.Destination.Registry = host
		is.Status.PendingSyncRequest = request.DeepCopy()
	}
	for _, tc := range []struct {
		name     string
		is       *v1alpha1.ImageSync
		policies []*v1alpha1.RegistryPolicy
		// writerErr, when set, is what reading imagesyncs/writer returns.
		writerErr error
		// applies is how many status writes the run makes.
		applies int
		ready   metav1.Condition
		event   string
		// copied says status.images and the counters come from this run;
		// otherwise they stay as the previous run wrote them.
		copied bool
	}{
		{
			name:    "registries the policies refuse",
			is:      testImageSync("refused", func(is *v1alpha1.ImageSync) { is.Status.PendingSyncRequest = request.DeepCopy() }),
			applies: 1,
			ready:   metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonRegistryNotAllowed},
			event:   "Warning " + ReasonRegistryNotAllowed,
		},
		{
			name: "credentials that cannot be read",
			is: testImageSync("no-creds", onLoopback, func(is *v1alpha1.ImageSync) {
				is.Spec.Source.AuthSecretRef = &v1alpha1.SecretReference{Name: "pull"}
			}),
			policies:  []*v1alpha1.RegistryPolicy{allowPolicy(host)},
			writerErr: errors.New("unavailable"),
			applies:   1,
			ready:     metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonCredentialsUnavailable},
			event:     "Warning " + ReasonCredentialsUnavailable,
		},
		{
			name:     "a copy",
			is:       testImageSync("copy", onLoopback),
			policies: []*v1alpha1.RegistryPolicy{allowPolicy(host)},
			// Syncing True when the copy starts, then the end of the run.
			applies: 2,
			ready:   metav1.Condition{Status: metav1.ConditionTrue, Reason: ReasonSynced},
			event:   "Normal SyncComplete",
			copied:  true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.is, tc.policies, host)
			if tc.writerErr != nil {
				f.client.PrependReactor("get", "imagesyncs", func(a clienttesting.Action) (bool, runtime.Object, error) {
					return a.GetSubresource() == "writer", nil, tc.writerErr
				})
			}
			sched, err := parseSchedule(tc.is.Spec.Schedule, f.now)
			if err != nil {
				t.Fatal(err)
			}
			key := cache.MetaObjectToName(tc.is)
			if err := f.ctrl.run(context.Background(), key, tc.is.DeepCopy(), TriggerRequested, sched); err != nil {
				t.Fatal(err)
			}

			applies, clears := f.statusApplies()
			if len(applies) != tc.applies || clears != 0 {
				t.Fatalf("%d status applies and %d nextSyncTime clears, want %d and none", len(applies), clears, tc.applies)
			}
			for _, body := range applies {
				if sent := serverOnlyFieldsSent(body); len(sent) > 0 {
					t.Errorf("apply sent server-only fields %v", sent)
				}
			}
			got := f.stored(tc.is.Name).Status
			r := meta.FindStatusCondition(got.Conditions, v1alpha1.ConditionReady)
			if r == nil || r.Status != tc.ready.Status || r.Reason != tc.ready.Reason || r.ObservedGeneration != tc.is.Generation {
				t.Errorf("Ready = %+v, want %s %s at generation %d", r, tc.ready.Status, tc.ready.Reason, tc.is.Generation)
			}
			if s := meta.FindStatusCondition(got.Conditions, v1alpha1.ConditionSyncing); s == nil || s.Status != metav1.ConditionFalse || s.Reason != ReasonIdle {
				t.Errorf("Syncing = %+v, want False Idle", s)
			}
			if got.LastSyncTime == nil || !got.LastSyncTime.Time.Equal(f.now) {
				t.Errorf("lastSyncTime = %v, want %s", got.LastSyncTime, f.now)
			}
			if want := f.now.Add(time.Hour); got.NextSyncTime == nil || !got.NextSyncTime.Time.Equal(want) {
				t.Errorf("nextSyncTime = %v, want %s", got.NextSyncTime, want)
			}
			if h := got.LastHandledSyncRequest; h == nil || h.ID != request.ID || h.Requester != "bob" {
				t.Errorf("lastHandledSyncRequest = %+v, want %s acknowledged", h, request.ID)
			}
			if id := got.SecretAccessIdentity; id == nil || id.Username != "alice" {
				t.Errorf("secretAccessIdentity = %+v, want alice kept", id)
			}
			tags := got.Images[0].Tags
			if tc.copied {
				if got.TotalImages != 1 || got.SyncedImages != 1 || got.FailedImages != 0 || len(tags) != 1 || !tags[0].Synced || tags[0].SourceDigest != digest {
					t.Errorf("status after the copy: counters %d/%d/%d, tags %+v; want 1 synced at %s", got.TotalImages, got.SyncedImages, got.FailedImages, tags, digest)
				}
			} else if got.TotalImages != 1 || got.SyncedImages != 1 || len(tags) != 1 || tags[0].SourceDigest != "sha256:old" {
				t.Errorf("a run stopped before the copy replaced the previous run's images: %+v", got.Images)
			}
			if !hasEvent(f.events, tc.event) {
				t.Errorf("no %q event", tc.event)
			}
			f.ctrl.mu.Lock()
			rec, ok := f.ctrl.finished[key]
			f.ctrl.mu.Unlock()
			if !ok || rec.handledID != request.ID || rec.generation != tc.is.Generation || !rec.at.Equal(f.now) {
				t.Errorf("finished run = %+v, %v; want request %s at generation %d", rec, ok, request.ID, tc.is.Generation)
			}
		})
	}
}

func hasEvent(events *record.FakeRecorder, prefix string) bool {
	for {
		select {
		case e := <-events.Events:
			if strings.HasPrefix(e, prefix) {
				return true
			}
		default:
			return false
		}
	}
}

func TestFinish(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attempts int
		out      runOutcome
		// retry is the retry delay scheduled; zero means none, and the
		// retry count is reset.
		retryMin, retryMax time.Duration
		attempt            int
	}{
		{
			name:     "success waits for the schedule",
			attempts: 2,
			out:      runOutcome{result: "success", ready: readyCondition(runSummary{total: 1, synced: 1}, 2), copied: true, sum: runSummary{total: 1, synced: 1}},
		},
		{
			name: "transient failures retry after the backoff",
			out: runOutcome{result: "failed", ready: readyCondition(runSummary{total: 1, failed: 1}, 2), copied: true,
				sum: runSummary{total: 1, failed: 1, transient: true}},
			retryMin: 500 * time.Millisecond, retryMax: time.Second, attempt: 1, // RetryBase 1s, jittered down to half
		},
		{
			name:     "rate limiting retries at the registry's time",
			attempts: 1,
			out: runOutcome{result: "failed", ready: readyCondition(runSummary{total: 1, failed: 1}, 2), copied: true,
				sum: runSummary{total: 1, failed: 1, transient: true, retryAt: metav1.NewTime(t0.Add(42 * time.Second))}},
			retryMin: 42 * time.Second, retryMax: 42 * time.Second, attempt: 2,
		},
		{
			name:     "transient failures past the retry limit wait for the schedule",
			attempts: 5,
			out: runOutcome{result: "failed", ready: readyCondition(runSummary{total: 1, failed: 1}, 2), copied: true,
				sum: runSummary{total: 1, failed: 1, transient: true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := testImageSync("finish")
			f := newFixture(t, is, nil)
			key := cache.MetaObjectToName(is)
			f.ctrl.attempts[key] = tc.attempts
			sched, err := parseSchedule(is.Spec.Schedule, f.now)
			if err != nil {
				t.Fatal(err)
			}
			tc.out.images = []v1alpha1.ImageStatus{{Name: "alpine", Tags: []v1alpha1.TagStatus{{Tag: "3.21", Synced: tc.out.sum.failed == 0}}}}
			r := syncRun{key: key, is: is, sched: sched, start: f.now.Add(-1500 * time.Millisecond)}
			if err := f.ctrl.finish(context.Background(), r, tc.out); err != nil {
				t.Fatal(err)
			}

			if applies, clears := f.statusApplies(); len(applies) != 1 || clears != 0 {
				t.Fatalf("%d status applies and %d nextSyncTime clears, want 1 and none", len(applies), clears)
			}
			got := f.stored(is.Name).Status
			if got.TotalImages != tc.out.sum.total || got.SyncedImages != tc.out.sum.synced || got.FailedImages != tc.out.sum.failed {
				t.Errorf("counters %d/%d/%d, want %+v", got.TotalImages, got.SyncedImages, got.FailedImages, tc.out.sum)
			}
			if gs, ws := mustJSON(t, got.Images), mustJSON(t, tc.out.images); gs != ws {
				t.Errorf("images = %s, want %s", gs, ws)
			}
			if r := meta.FindStatusCondition(got.Conditions, v1alpha1.ConditionReady); r == nil || r.Reason != tc.out.ready.Reason {
				t.Errorf("Ready = %+v, want %s", r, tc.out.ready.Reason)
			}
			if s := meta.FindStatusCondition(got.Conditions, v1alpha1.ConditionSyncing); s == nil || s.Message != "last run took 1.5s" {
				t.Errorf("Syncing = %+v, want the run's duration", s)
			}
			// No request was pending: the last handled one is not touched.
			if got.LastHandledSyncRequest != nil {
				t.Errorf("lastHandledSyncRequest = %+v, want none", got.LastHandledSyncRequest)
			}

			f.ctrl.mu.Lock()
			attempts := f.ctrl.attempts[key]
			retryAt, retrying := f.ctrl.retryAt[key]
			f.ctrl.mu.Unlock()
			if tc.retryMax == 0 {
				if retrying || attempts != 0 {
					t.Errorf("attempts = %d, retry at %s; want the retry state reset", attempts, retryAt)
				}
				return
			}
			if attempts != tc.attempt {
				t.Errorf("attempts = %d, want %d", attempts, tc.attempt)
			}
			if d := retryAt.Sub(f.now); d < tc.retryMin || d > tc.retryMax {
				t.Errorf("retry in %s, want %s..%s", d, tc.retryMin, tc.retryMax)
			}
		})
	}
}

// TestApplyStatusKeepsWhatItDoesNotChange: each apply carries the whole
// status the controller owns, so a field written by one apply and not
// mentioned by the next survives it, while a field the change clears goes
// even when another field manager owns it too.
func TestApplyStatusKeepsWhatItDoesNotChange(t *testing.T) {
	is := testImageSync("owned")
	f := newFixture(t, is, nil)
	ctx := context.Background()
	images := []v1alpha1.ImageStatus{{Name: "alpine", Tags: []v1alpha1.TagStatus{{Tag: "3.21", Synced: true, SourceDigest: "sha256:new"}}}}
	if err := f.ctrl.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) {
		st.Images, st.TotalImages = images, 7
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.ctrl.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) {
		setCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionSyncing, Status: metav1.ConditionTrue, Reason: ReasonInProgress, Message: "1 tags done"})
		// A new value, forced: this manager alone owns nextSyncTime now.
		st.NextSyncTime = &metav1.Time{Time: t0.Add(3 * time.Hour)}
	}); err != nil {
		t.Fatal(err)
	}
	got := f.stored(is.Name).Status
	if got.TotalImages != 7 || mustJSON(t, got.Images) != mustJSON(t, images) {
		t.Fatalf("the second apply dropped the first one's fields: total %d, images %+v", got.TotalImages, got.Images)
	}
	if s := meta.FindStatusCondition(got.Conditions, v1alpha1.ConditionSyncing); s == nil || s.Status != metav1.ConditionTrue || meta.FindStatusCondition(got.Conditions, v1alpha1.ConditionReady) == nil {
		t.Fatalf("conditions = %+v, want Ready kept and Syncing True", got.Conditions)
	}

	// Leaving out a field this manager alone owns removes it.
	f.client.ClearActions()
	if err := f.ctrl.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) { st.NextSyncTime = nil }); err != nil {
		t.Fatal(err)
	}
	if applies, clears := f.statusApplies(); len(applies) != 1 || clears != 0 || f.stored(is.Name).Status.NextSyncTime != nil {
		t.Fatalf("%d applies, %d clears, nextSyncTime %v; want it removed by the apply alone", len(applies), clears, f.stored(is.Name).Status.NextSyncTime)
	}

	// Another manager writes nextSyncTime by merge patch and so owns it;
	// an apply that omits it leaves it.
	patch := `{"status":{"nextSyncTime":"` + t0.Add(2*time.Hour).Format(time.RFC3339) + `","totalImages":8}}`
	if _, err := f.client.PortagerV1alpha1().ImageSyncs(testNamespace).Patch(ctx, is.Name, types.MergePatchType, []byte(patch),
		metav1.PatchOptions{FieldManager: "earlier-writer"}, "status"); err != nil {
		t.Fatal(err)
	}
	f.client.ClearActions()
	if err := f.ctrl.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) { st.NextSyncTime = nil }); err != nil {
		t.Fatal(err)
	}
	got = f.stored(is.Name).Status
	if got.NextSyncTime != nil {
		t.Fatalf("nextSyncTime = %s after the controller cleared it", got.NextSyncTime)
	}
	if got.TotalImages != 8 {
		t.Fatalf("totalImages = %d, want the value read before the apply (8)", got.TotalImages)
	}
	var cleared bool
	for _, a := range f.client.Actions() {
		if p, ok := a.(clienttesting.PatchActionImpl); ok && p.GetPatchType() == types.MergePatchType {
			cleared = string(p.GetPatch()) == clearNextSyncTime && p.GetSubresource() == "status" && p.PatchOptions.FieldManager == FieldManager
		}
	}
	if !cleared {
		t.Fatalf("actions = %v, want nextSyncTime cleared by merge patch on status", f.client.Actions())
	}
}

// TestStatusApplyConfiguration: the apply configuration says what the typed
// status says, field for field, except the fields only the server records.
func TestStatusApplyConfiguration(t *testing.T) {
	at := metav1.NewTime(t0)
	full := v1alpha1.ImageSyncStatus{
		Conditions: []metav1.Condition{
			{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonFailed, Message: "m", ObservedGeneration: 4, LastTransitionTime: at},
			{Type: v1alpha1.ConditionSyncing, Status: metav1.ConditionFalse, Reason: ReasonIdle, LastTransitionTime: at},
		},
		ObservedGeneration: 4, LastSyncTime: &at, NextSyncTime: &at,
		TotalImages: 3, SyncedImages: 1, FailedImages: 2,
		Images: []v1alpha1.ImageStatus{
			{Name: "a", Tags: []v1alpha1.TagStatus{
				{Tag: "1", Synced: true, SourceDigest: "sha256:1", LastSyncTime: &at, Verified: true},
				{Tag: "2", Error: "TagNotFound: x", ValidationError: "unsigned"},
			}},
			{Name: "b"},
		},
		PendingSyncRequest:     &v1alpha1.SyncRequestRecord{ID: "p", RequestedAt: at},
		LastHandledSyncRequest: &v1alpha1.SyncRequestRecord{ID: "h", RequestedAt: at, Requester: "bob"},
		SecretAccessIdentity:   &v1alpha1.UserIdentity{Username: "alice"},
	}
	for _, tc := range []struct {
		name string
		st   v1alpha1.ImageSyncStatus
	}{
		{"every field set", full},
		{"nothing set", v1alpha1.ImageSyncStatus{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owned := ownedStatus(&tc.st)
			if owned.PendingSyncRequest != nil || owned.SecretAccessIdentity != nil {
				t.Fatalf("ownedStatus kept server-only fields: %+v", owned)
			}
			var decoded v1alpha1.ImageSyncStatus
			if err := json.Unmarshal([]byte(mustJSON(t, statusApplyConfiguration(&owned))), &decoded); err != nil {
				t.Fatal(err)
			}
			if got, want := mustJSON(t, decoded), mustJSON(t, owned); got != want {
				t.Fatalf("apply configuration reads as:\n%s\nwant\n%s", got, want)
			}
			if tc.st.PendingSyncRequest == nil {
				return
			}
			if got := mustJSON(t, statusApplyConfiguration(&tc.st)); strings.Contains(got, "pendingSyncRequest") || strings.Contains(got, "secretAccessIdentity") {
				t.Fatalf("apply configuration carries server-only fields: %s", got)
			}
		})
	}
}
