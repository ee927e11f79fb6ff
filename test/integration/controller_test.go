package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	clientv3 "go.etcd.io/etcd/client/v3"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/cloudauth"
	cmdcontroller "github.com/portager/portager/pkg/cmd/controller"
	"github.com/portager/portager/pkg/cmd/server"
	controller "github.com/portager/portager/pkg/controller/imagesync"
	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
	informers "github.com/portager/portager/pkg/generated/informers/externalversions"
	"github.com/portager/portager/pkg/syncer"
)

// testRegistry is the shared test registry with switches the controller
// tests flip while it runs: failing manifests, a Retry-After, slow or
// redirected blob GETs, and a Basic credential it requires.
type testRegistry struct {
	*registrytest.Registry
	// failing answers manifest requests 503.
	failing atomic.Bool
	// blobDelay holds every blob GET this long; blobStarted counts them.
	blobDelay atomic.Int64
	// blobRedirect, when set, answers blob GETs with a redirect to this
	// URL plus the blob's path.
	blobRedirect atomic.Pointer[string]
	blobStarted  atomic.Int64
	// manifestPuts counts manifest PUTs by tag: a tag moving.
	manifestPuts atomic.Int64
	// retryAfter, when set, answers manifest requests 429 with this many
	// seconds of Retry-After.
	retryAfter atomic.Int64
	// basic, when set, is the only user and password admitted, behind a
	// Basic challenge (as ECR answers).
	basic atomic.Pointer[authn.Basic]
}

// requireBasic admits only user:pass from now on.
func (r *testRegistry) requireBasic(user, pass string) {
	r.basic.Store(&authn.Basic{Username: user, Password: pass})
}

// requests counts every request the registry received.
func (r *testRegistry) requests() int64 { return int64(len(r.Requests())) }

func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{Registry: registrytest.New(t)}
	r.Challenge = `Basic realm="registry"`
	r.Authorize = func(req *http.Request) bool {
		b := r.basic.Load()
		if b == nil {
			return true
		}
		u, p, ok := req.BasicAuth()
		return ok && u == b.Username && p == b.Password
	}
	isManifest := func(req *http.Request) bool { return registrytest.KindOf(req) == "manifest" }
	isBlobGET := func(req *http.Request) bool {
		return req.Method == http.MethodGet && registrytest.KindOf(req) == "blob"
	}
	r.AddFault(&registrytest.Fault{Times: -1,
		Match: func(req *http.Request) bool { return r.failing.Load() && isManifest(req) },
		Handle: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		},
	})
	r.AddFault(&registrytest.Fault{Times: -1,
		Match: func(req *http.Request) bool { return r.retryAfter.Load() > 0 && isManifest(req) },
		Handle: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", fmt.Sprint(r.retryAfter.Load()))
			http.Error(w, "slow down", http.StatusTooManyRequests)
		},
	})
	r.AddFault(&registrytest.Fault{Times: -1,
		Match: func(req *http.Request) bool { return r.blobRedirect.Load() != nil && isBlobGET(req) },
		Handle: func(w http.ResponseWriter, req *http.Request) {
			http.Redirect(w, req, *r.blobRedirect.Load()+req.URL.Path, http.StatusTemporaryRedirect)
		},
	})
	r.SetHook(func(req *http.Request) func() {
		if isBlobGET(req) {
			r.blobStarted.Add(1)
			if d := time.Duration(r.blobDelay.Load()); d > 0 {
				select {
				case <-time.After(d):
				case <-req.Context().Done():
				}
			}
		}
		if req.Method == http.MethodPut && isManifest(req) && !strings.Contains(req.URL.Path, "/manifests/sha256:") {
			r.manifestPuts.Add(1)
		}
		return func() {}
	})
	return r
}

// push writes a random image under repo:tags and returns its digest.
func (r *testRegistry) push(t *testing.T, repo string, tags ...string) v1.Hash {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		r.Push(repo+":"+tag, img)
	}
	d, _ := img.Digest()
	return d
}

// digest returns the digest of repo:tag, or "" if it is absent.
func (r *testRegistry) digest(repo, tag string) string { return r.DigestOf(repo + ":" + tag) }

// controllerEnv is our API server, two registries, and a controller.
//
// Secrets, SubjectAccessReviews and Events are core Kubernetes APIs that the
// in-process stack has no kube-apiserver for; client-go's fake clientset
// stands in for them here (the end-to-end tests use the real kube-apiserver).
type controllerEnv struct {
	srv      *testServer
	src, dst *testRegistry
	kube     *kubefake.Clientset
	events   *record.FakeRecorder
	metrics  *controller.Metrics
	// cloud is the controller's ECR and GAR providers (none by default).
	cloud cloudauth.Providers
	// sigstoreRoot verifies keyless signatures (none by default).
	sigstoreRoot root.TrustedMaterial

	// etcd is the API server's storage, for writes the API would refuse.
	etcd *clientv3.Client
	// minSyncInterval is the controller's least time between a run and a
	// run started by a spec change (none by default).
	minSyncInterval time.Duration
	// namespaceWorkers bounds the controller's workers per namespace
	// (none by default).
	namespaceWorkers int

	mu sync.Mutex
	// allowed is what a SubjectAccessReview allows: "user resource ns/name".
	allowed   map[string]bool
	reviews   int
	secretGet int
}

func newControllerEnv(t *testing.T) *controllerEnv {
	t.Helper()
	etcd := startEtcdClient(t)
	env := &controllerEnv{
		etcd: etcd,
		// A one-second schedule lets a test see the schedule fire.
		srv: startServer(t, serverConfig{etcdServers: etcd.Endpoints(), customize: func(o *server.Options) {
			o.MinScheduleInterval = time.Second
		}}),
		src:     startRegistry(t),
		dst:     startRegistry(t),
		kube:    kubefake.NewClientset(),
		events:  record.NewFakeRecorder(10000),
		allowed: map[string]bool{},
	}
	env.kube.PrependReactor("create", "subjectaccessreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
		sar := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		ra := sar.Spec.ResourceAttributes
		env.mu.Lock()
		env.reviews++
		sar.Status.Allowed = env.allowed[sar.Spec.User+" "+ra.Resource+" "+ra.Namespace+"/"+ra.Name]
		env.mu.Unlock()
		return true, sar, nil
	})
	if _, err := env.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{corev1.LabelMetadataName: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The registries run on loopback, which no ImageSync may use unless an
	// administrator allows it, as one would allow a private Harbor.
	env.allowRegistries(t, "loopback-registries", []string{env.src.Host}, []string{env.dst.Host})
	env.kube.PrependReactor("get", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		env.mu.Lock()
		env.secretGet++
		env.mu.Unlock()
		return false, nil, nil
	})
	return env
}

// allow says whether a SubjectAccessReview allows user the resource
// "namespace/name".
func (env *controllerEnv) allow(user, resource, nsName string, ok bool) {
	env.mu.Lock()
	defer env.mu.Unlock()
	env.allowed[user+" "+resource+" "+nsName] = ok
}

// pushSecret creates a dockerconfigjson Secret for the destination registry,
// whose password is "canary-p4ss".
func (env *controllerEnv) pushSecret(t *testing.T, name string) {
	t.Helper()
	if _, err := env.kube.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + env.dst.Host + `":{"username":"u","password":"canary-p4ss"}}}`)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// allowRegistries writes a RegistryPolicy, selecting every namespace, that
// allows exactly these source and destination hosts.
func (env *controllerEnv) allowRegistries(t *testing.T, name string, sources, destinations []string) {
	t.Helper()
	p := &v1alpha1.RegistryPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, h := range sources {
		p.Spec.Sources = append(p.Spec.Sources, v1alpha1.RegistryEntry{Registry: h})
	}
	for _, h := range destinations {
		p.Spec.Destinations = append(p.Spec.Destinations, v1alpha1.RegistryEntry{Registry: h})
	}
	if _, err := env.srv.Client.PortagerV1alpha1().RegistryPolicies().Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// startController runs a controller until the returned stop is called or
// the test ends.
func (env *controllerEnv) startController(t *testing.T) (stop func()) {
	t.Helper()
	client := clientset.NewForConfigOrDie(env.srv.Config)
	factory := informers.NewSharedInformerFactory(client, 0)
	var ctrl *controller.Controller
	env.metrics = controller.NewMetrics(func() float64 { return float64(ctrl.QueueLen()) })
	ctrl, err := controller.New(controller.Config{
		Client: client, Kube: env.kube,
		Informer:       factory.Portager().V1alpha1().ImageSyncs(),
		PolicyInformer: factory.Portager().V1alpha1().RegistryPolicies(),
		// RetryAfterCap is short so a registry's longer Retry-After comes back
		// to the controller as RateLimited.
		EngineOptions:    syncer.Options{RegistryOptions: syncer.RegistryOptions{InsecureHosts: []string{env.src.Host, env.dst.Host}, MaxRetries: -1, RetryAfterCap: 500 * time.Millisecond}},
		Cloud:            env.cloud,
		SigstoreRoot:     env.sigstoreRoot,
		Recorder:         env.events,
		Metrics:          env.metrics,
		RetryBase:        200 * time.Millisecond,
		RetryCap:         time.Second,
		ProgressInterval: 100 * time.Millisecond,
		MinSyncInterval:  env.minSyncInterval,
		NamespaceWorkers: env.namespaceWorkers,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	factory.Start(ctx.Done())
	go func() {
		defer close(done)
		_ = ctrl.Run(ctx, 2)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			factory.Shutdown()
		})
	}
	t.Cleanup(stop)
	return stop
}

func (env *controllerEnv) imageSync(name, schedule string, images ...v1alpha1.ImageSpec) *v1alpha1.ImageSync {
	return imagesynctest.New(ns, name, func(is *v1alpha1.ImageSync) {
		is.Spec.Schedule = schedule
		is.Spec.Source.Registry = env.src.Host + "/upstream"
		is.Spec.Destination.Registry = env.dst.Host
		is.Spec.Destination.RepositoryPrefix = "mirror"
		is.Spec.Images = images
	})
}

// createWithSecret pushes upstream/alpine:3.21 and creates ImageSync name
// copying it with the schedule, pushing with the Secret push-creds that the
// writer the standalone server stamps (portager-admin) may read.
func (env *controllerEnv) createWithSecret(t *testing.T, name, schedule string) *v1alpha1.ImageSync {
	t.Helper()
	env.src.push(t, "upstream/alpine", "3.21")
	env.pushSecret(t, "push-creds")
	env.allow("portager-admin", "secrets", ns+"/push-creds", true)
	is := env.imageSync(name, schedule, v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
	is.Spec.Destination.Auth = v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodSecret, SecretRef: &v1alpha1.SecretReference{Name: "push-creds"}}
	created, err := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns).Create(context.Background(), is, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// waitFor polls the ImageSync until cond holds.
func (env *controllerEnv) waitFor(t *testing.T, name, what string, cond func(*v1alpha1.ImageSync) bool) *v1alpha1.ImageSync {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last *v1alpha1.ImageSync
	for time.Now().Before(deadline) {
		is, err := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = is
			if cond(is) {
				return is
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %s not reached; last status: %+v", name, what, last.Status)
	return nil
}

// drainEvents returns the Events recorded so far.
func (env *controllerEnv) drainEvents() []string {
	var out []string
	for {
		select {
		case e := <-env.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func countPrefix(events []string, prefix string) int {
	n := 0
	for _, e := range events {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

func ready(is *v1alpha1.ImageSync) *metav1.Condition {
	return meta.FindStatusCondition(is.Status.Conditions, v1alpha1.ConditionReady)
}

func TestController(t *testing.T) {
	env := newControllerEnv(t)
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)

	alpine := env.src.push(t, "upstream/alpine", "3.21", "latest")
	nginx := env.src.push(t, "upstream/nginx", "1.27.1")
	env.src.push(t, "upstream/nginx", "1.27.2", "1.26.0", "not-semver")

	t.Run("a new ImageSync syncs at once, with exact status", func(t *testing.T) {
		is := env.imageSync("basic", "@every 1h",
			v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21", "latest"}},
			v1alpha1.ImageSpec{Name: "nginx", Semver: "~1.27.0", MaxTags: 1})
		if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := env.waitFor(t, "basic", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
		st := got.Status
		if st.TotalImages != 3 || st.SyncedImages != 3 || st.FailedImages != 0 {
			t.Fatalf("counts = %d/%d/%d", st.TotalImages, st.SyncedImages, st.FailedImages)
		}
		if r := ready(got); r == nil || r.Status != metav1.ConditionTrue || r.Reason != controller.ReasonSynced {
			t.Fatalf("Ready = %+v in %+v", r, got.Status.Conditions)
		}
		if s := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionSyncing); s == nil || s.Status != metav1.ConditionFalse {
			t.Fatalf("Syncing = %+v", s)
		}
		want := map[string]string{"alpine:3.21": alpine.String(), "alpine:latest": alpine.String()}
		for _, img := range st.Images {
			for _, tag := range img.Tags {
				key := img.Name + ":" + tag.Tag
				if img.Name == "nginx" {
					// maxTags 1 of ~1.27.0: the newest, 1.27.2.
					if tag.Tag != "1.27.2" {
						t.Errorf("nginx resolved %q, want 1.27.2", tag.Tag)
					}
					want[key] = env.src.digest("upstream/nginx", "1.27.2")
				}
				if !tag.Synced || tag.SourceDigest != want[key] || tag.LastSyncTime == nil {
					t.Errorf("%s: %+v, want synced at %s", key, tag, want[key])
				}
				if d := env.dst.digest("mirror/"+img.Name, tag.Tag); d != tag.SourceDigest {
					t.Errorf("%s: destination digest %s, source %s", key, d, tag.SourceDigest)
				}
			}
		}
		if st.LastSyncTime == nil || st.NextSyncTime == nil || st.NextSyncTime.Sub(st.LastSyncTime.Time) != time.Hour {
			t.Fatalf("last=%v next=%v, want next one hour after last", st.LastSyncTime, st.NextSyncTime)
		}
		_ = nginx
		events := env.drainEvents()
		if countPrefix(events, "Normal SyncComplete") != 1 || countPrefix(events, "Normal ImageSynced") != 3 {
			t.Fatalf("events = %q", events)
		}
	})

	t.Run("a spec change syncs at once; up-to-date tags make no Events", func(t *testing.T) {
		is, _ := c.Get(ctx, "basic", metav1.GetOptions{})
		is.Spec.Images[1].MaxTags = 2
		if _, err := c.Update(ctx, is, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := env.waitFor(t, "basic", "generation 2", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 2 })
		if got.Status.TotalImages != 4 || env.dst.digest("mirror/nginx", "1.27.1") != nginx.String() {
			t.Fatalf("after spec change: total=%d", got.Status.TotalImages)
		}
		events := env.drainEvents()
		if countPrefix(events, "Normal ImageSynced") != 1 || countPrefix(events, "Normal SyncComplete") != 1 {
			t.Fatalf("events = %q, want one copy and one summary", events)
		}
	})

	t.Run("a sync request is handled and acknowledged", func(t *testing.T) {
		receipt, err := c.Sync(ctx, "basic", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := env.waitFor(t, "basic", "request handled", func(is *v1alpha1.ImageSync) bool {
			h := is.Status.LastHandledSyncRequest
			return h != nil && h.ID == receipt.Status.RequestID
		})
		if got.Status.PendingSyncRequest != nil {
			t.Fatalf("pending after handling: %+v", got.Status.PendingSyncRequest)
		}
	})

	t.Run("suspend stops syncing and says so", func(t *testing.T) {
		if _, err := c.Patch(ctx, "basic", types.MergePatchType, []byte(`{"spec":{"suspend":true}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		got := env.waitFor(t, "basic", "suspended", func(is *v1alpha1.ImageSync) bool {
			r := ready(is)
			return r != nil && r.Reason == controller.ReasonSuspended && is.Status.NextSyncTime == nil
		})
		receipt, err := c.Sync(ctx, "basic", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		now, _ := c.Get(ctx, "basic", metav1.GetOptions{})
		if h := now.Status.LastHandledSyncRequest; h != nil && h.ID == receipt.Status.RequestID {
			t.Fatal("a request was handled while suspended")
		}
		if !now.Status.LastSyncTime.Equal(got.Status.LastSyncTime) {
			t.Fatal("a run happened while suspended")
		}
		// Resuming runs the pending request.
		if _, err := c.Patch(ctx, "basic", types.MergePatchType, []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		env.waitFor(t, "basic", "request handled after resume", func(is *v1alpha1.ImageSync) bool {
			h := is.Status.LastHandledSyncRequest
			return h != nil && h.ID == receipt.Status.RequestID
		})
	})

	t.Run("the schedule fires", func(t *testing.T) {
		is := env.imageSync("fast", "@every 2s", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
		if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		first := env.waitFor(t, "fast", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.LastSyncTime != nil })
		second := env.waitFor(t, "fast", "scheduled run", func(is *v1alpha1.ImageSync) bool {
			return is.Status.LastSyncTime.After(first.Status.LastSyncTime.Time)
		})
		if gap := second.Status.LastSyncTime.Sub(first.Status.LastSyncTime.Time); gap < time.Second || gap > 5*time.Second {
			t.Fatalf("scheduled run came %s after the first, want about 2s", gap)
		}
		if err := c.Delete(ctx, "fast", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a failing tag does not block the others and waits for the schedule", func(t *testing.T) {
		env.drainEvents()
		is := env.imageSync("partial", "@every 1h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21", "missing"}})
		if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := env.waitFor(t, "partial", "run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
		if r := ready(got); r.Reason != controller.ReasonPartiallyFailed || got.Status.FailedImages != 1 || got.Status.SyncedImages != 1 {
			t.Fatalf("Ready = %+v, counts %d/%d", r, got.Status.SyncedImages, got.Status.FailedImages)
		}
		for _, tag := range got.Status.Images[0].Tags {
			if tag.Tag == "missing" && (tag.Synced || !strings.Contains(tag.Error, syncer.ReasonTagNotFound)) {
				t.Errorf("missing tag status = %+v", tag)
			}
		}
		time.Sleep(2 * time.Second)
		after, _ := c.Get(ctx, "partial", metav1.GetOptions{})
		if !after.Status.LastSyncTime.Equal(got.Status.LastSyncTime) {
			t.Fatal("a deterministic failure was retried before the schedule")
		}
		events := env.drainEvents()
		if countPrefix(events, "Warning TagSyncFailed") != 1 || countPrefix(events, "Warning SyncPartiallyFailed") != 1 {
			t.Fatalf("events = %q", events)
		}
	})

	t.Run("a transient failure is retried", func(t *testing.T) {
		env.src.failing.Store(true)
		is := env.imageSync("transient", "@every 1h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"latest"}})
		if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		env.waitFor(t, "transient", "transient failure", func(is *v1alpha1.ImageSync) bool { return is.Status.FailedImages == 1 })
		env.src.failing.Store(false)
		got := env.waitFor(t, "transient", "retried to success", func(is *v1alpha1.ImageSync) bool {
			r := ready(is)
			return r != nil && r.Status == metav1.ConditionTrue
		})
		if got.Status.NextSyncTime.Sub(time.Now()) < 50*time.Minute {
			t.Fatalf("nextSyncTime %v, want the schedule after a successful retry", got.Status.NextSyncTime)
		}
	})

	t.Run("status stays bounded with hundreds of tags", func(t *testing.T) {
		img, _ := random.Image(64, 1)
		for i := range 300 {
			ref, err := name.ParseReference(fmt.Sprintf("%s/upstream/many:1.0.%d", env.src.Host, i))
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
		}
		is := env.imageSync("many", "@every 1h", v1alpha1.ImageSpec{Name: "many", Semver: ">=1.0.0"})
		if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := env.waitFor(t, "many", "run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
		if got.Status.TotalImages != 300 || got.Status.SyncedImages != 300 {
			t.Fatalf("counts = %d/%d", got.Status.SyncedImages, got.Status.TotalImages)
		}
		if n := len(got.Status.Images[0].Tags); n != 100 {
			t.Fatalf("status lists %d tags, want the cap of 100", n)
		}
		if r := ready(got); !strings.Contains(r.Message, "status lists 100 of 300") {
			t.Fatalf("Ready message = %q", r.Message)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		families, err := env.metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, f := range families {
			seen[f.GetName()] = true
		}
		for _, want := range []string{"portager_sync_runs_total", "portager_sync_run_duration_seconds", "portager_tags_total",
			"portager_bytes_copied_total", "portager_registry_requests_total", "portager_workqueue_depth", "portager_imagesync_last_sync_timestamp_seconds"} {
			if !seen[want] {
				t.Errorf("metric %s missing", want)
			}
		}
	})
}

// TestControllerCredentials checks that Secrets are read only after a
// SubjectAccessReview for the identity the API server stamped, and that a
// revoked permission stops their use.
func TestControllerCredentials(t *testing.T) {
	env := newControllerEnv(t)
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	env.createWithSecret(t, "creds", "@every 1h")
	got := env.waitFor(t, "creds", "run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(got); r.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %+v", r)
	}
	env.mu.Lock()
	gets := env.secretGet
	env.mu.Unlock()
	if gets != 1 {
		t.Fatalf("Secret GETs = %d, want 1", gets)
	}

	env.allow("portager-admin", "secrets", "default/push-creds", false)
	receipt, err := c.Sync(ctx, "creds", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got = env.waitFor(t, "creds", "denied", func(is *v1alpha1.ImageSync) bool {
		h := is.Status.LastHandledSyncRequest
		return h != nil && h.ID == receipt.Status.RequestID
	})
	r := ready(got)
	if r.Reason != controller.ReasonCredentialAccessDenied || !strings.Contains(r.Message, "spec.destination.auth.secretRef") {
		t.Fatalf("Ready = %+v, want CredentialAccessDenied naming the field", r)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.secretGet != gets {
		t.Fatalf("the Secret was read after access was revoked")
	}
	for _, e := range env.drainEvents() {
		if strings.Contains(e, "canary-p4ss") {
			t.Fatalf("credential in an Event: %s", e)
		}
	}
	if strings.Contains(fmt.Sprint(got.Status), "canary-p4ss") {
		t.Fatal("credential in status")
	}
}

// TestMissedScheduleRunsOnce stops the controller, lets the object look as if
// several ticks were missed, and checks the new controller runs it once.
func TestMissedScheduleRunsOnce(t *testing.T) {
	env := newControllerEnv(t)
	stop := env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	env.src.push(t, "upstream/alpine", "3.21")
	if _, err := c.Create(ctx, env.imageSync("missed", "@every 1h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.waitFor(t, "missed", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	stop()
	env.drainEvents()

	// Five hourly ticks pass while no controller runs.
	past := metav1.NewTime(time.Now().Add(-5*time.Hour - time.Minute))
	patch := fmt.Sprintf(`{"status":{"lastSyncTime":%q}}`, past.UTC().Format(time.RFC3339))
	if _, err := c.Patch(ctx, "missed", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	env.startController(t)
	got := env.waitFor(t, "missed", "catch-up run", func(is *v1alpha1.ImageSync) bool { return is.Status.LastSyncTime.After(past.Time.Add(time.Hour)) })
	time.Sleep(2 * time.Second)
	if runs := countPrefix(env.drainEvents(), "Normal SyncComplete"); runs != 1 {
		t.Fatalf("runs after downtime = %d, want 1", runs)
	}
	if d := got.Status.NextSyncTime.Sub(got.Status.LastSyncTime.Time); d != time.Hour {
		t.Fatalf("next sync %s after the catch-up, want 1h", d)
	}
}

// TestLeaderHandover runs two controllers on one Lease: only the leader
// touches registries, and when it stops the other takes over.
func TestLeaderHandover(t *testing.T) {
	env := newControllerEnv(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	env.src.push(t, "upstream/alpine", "3.21")

	type replica struct {
		requests atomic.Int64
		cancel   context.CancelFunc
		done     chan struct{}
	}
	start := func(id string) *replica {
		r := &replica{done: make(chan struct{})}
		o := cmdcontroller.NewOptions()
		o.LeaderElect = true
		o.LeaderElectionNamespace, o.LeaderElectionID = "portager-system", "portager-controller"
		o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = 3*time.Second, 2*time.Second, 200*time.Millisecond
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o.Serving.SecureServing.Listener = l
		o.Engine.InsecureRegistries = []string{env.src.Host, env.dst.Host}
		o.EngineTransport = func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(req *http.Request) (*http.Response, error) {
				r.requests.Add(1)
				return rt.RoundTrip(req)
			})
		}
		runCtx, cancel := context.WithCancel(klog.NewContext(ctx, klog.Background().WithName(id)))
		r.cancel = cancel
		client := clientset.NewForConfigOrDie(env.srv.Config)
		go func() {
			defer close(r.done)
			if err := o.RunWithClients(runCtx, client, env.kube); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}()
		<-o.Ready
		t.Cleanup(func() { cancel(); <-r.done })
		return r
	}

	a := start("a")
	// a takes the Lease before b exists.
	deadline := time.Now().Add(30 * time.Second)
	for {
		lease, err := env.kube.CoordinationV1().Leases("portager-system").Get(ctx, "portager-controller", metav1.GetOptions{})
		if err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader elected")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b := start("b")

	if _, err := c.Create(ctx, env.imageSync("le", "@every 1h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.waitFor(t, "le", "run by the leader", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if a.requests.Load() == 0 || b.requests.Load() != 0 {
		t.Fatalf("registry requests: leader a=%d, follower b=%d; want only a", a.requests.Load(), b.requests.Load())
	}
	if puts := env.dst.manifestPuts.Load(); puts != 1 {
		t.Fatalf("destination tag PUTs = %d, want 1 (no double push)", puts)
	}

	// a stops (SIGTERM in production); it releases the Lease and b takes over.
	a.cancel()
	<-a.done
	aAfter := a.requests.Load()
	receipt, err := c.Sync(ctx, "le", &v1alpha1.ImageSyncRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env.waitFor(t, "le", "request handled by the new leader", func(is *v1alpha1.ImageSync) bool {
		h := is.Status.LastHandledSyncRequest
		return h != nil && h.ID == receipt.Status.RequestID
	})
	if b.requests.Load() == 0 || a.requests.Load() != aAfter {
		t.Fatalf("after handover: a=%d (was %d), b=%d; want only b", a.requests.Load(), aAfter, b.requests.Load())
	}
}

// TestShutdownMidCopy cancels the controller (what SIGTERM does through the
// signal context in cmd/controller) while a blob is being copied: nothing is
// pushed afterwards, the destination tag never appears half-written, and the
// next controller completes the copy.
func TestShutdownMidCopy(t *testing.T) {
	env := newControllerEnv(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	digest := env.src.push(t, "upstream/alpine", "3.21")
	env.src.blobDelay.Store(int64(time.Hour))

	stop := env.startController(t)
	if _, err := c.Create(ctx, env.imageSync("term", "@every 1h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for env.src.blobStarted.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("copy did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("controller did not stop within 30s of cancellation")
	}
	if puts := env.dst.manifestPuts.Load(); puts != 0 {
		t.Fatalf("tag PUTs after cancellation = %d", puts)
	}
	if d := env.dst.digest("mirror/alpine", "3.21"); d != "" {
		t.Fatalf("destination tag exists after an interrupted copy: %s", d)
	}

	env.src.blobDelay.Store(0)
	env.startController(t)
	env.waitFor(t, "term", "completed by the next controller", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if d := env.dst.digest("mirror/alpine", "3.21"); d != digest.String() {
		t.Fatalf("destination digest %q, want %s", d, digest)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestProgressAndMetricsLifecycle checks that a long run shows its progress
// on the object, and that an ImageSync's metric series go when it does.
func TestProgressAndMetricsLifecycle(t *testing.T) {
	env := newControllerEnv(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	var tags []string
	for i := range 6 {
		tag := fmt.Sprintf("v%d", i)
		env.src.push(t, "upstream/slow", tag)
		tags = append(tags, tag)
	}
	env.src.blobDelay.Store(int64(400 * time.Millisecond))
	env.startController(t)

	if _, err := c.Create(ctx, env.imageSync("slow", "@every 1h", v1alpha1.ImageSpec{Name: "slow", Tags: tags}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	during := env.waitFor(t, "slow", "progress", func(is *v1alpha1.ImageSync) bool {
		s := meta.FindStatusCondition(is.Status.Conditions, v1alpha1.ConditionSyncing)
		return s != nil && s.Status == metav1.ConditionTrue && strings.Contains(s.Message, "tags done")
	})
	if during.Status.ObservedGeneration != 0 {
		t.Fatalf("progress seen only after the run finished")
	}
	env.waitFor(t, "slow", "run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })

	series := func() int {
		families, err := env.metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range families {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "name" && l.GetValue() == "slow" {
						n++
					}
				}
			}
		}
		return n
	}
	if n := series(); n == 0 {
		t.Fatal("no per-object series after a run")
	}
	if err := c.Delete(ctx, "slow", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for series() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d series left after the ImageSync was deleted", series())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRateLimitedRetriesAtRegistryTime checks that a 429 whose Retry-After is
// longer than the engine waits makes the controller come back at that time,
// not earlier and not only at the next schedule.
func TestRateLimitedRetriesAtRegistryTime(t *testing.T) {
	env := newControllerEnv(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	env.src.push(t, "upstream/alpine", "3.21")
	env.src.retryAfter.Store(3)
	env.startController(t)

	if _, err := c.Create(ctx, env.imageSync("limited", "@every 1h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	failed := env.waitFor(t, "limited", "rate limited", func(is *v1alpha1.ImageSync) bool {
		return is.Status.FailedImages == 1 && len(is.Status.Images) == 1 && strings.Contains(is.Status.Images[0].Tags[0].Error, syncer.ReasonRateLimited)
	})
	env.src.retryAfter.Store(0)
	done := env.waitFor(t, "limited", "retried", func(is *v1alpha1.ImageSync) bool { return is.Status.SyncedImages == 1 })
	gap := done.Status.LastSyncTime.Sub(failed.Status.LastSyncTime.Time)
	if gap < 2*time.Second || gap > 10*time.Second {
		t.Fatalf("retry came %s after the 429, want about the 3s Retry-After", gap)
	}
}
