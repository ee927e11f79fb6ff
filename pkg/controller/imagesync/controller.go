package imagesync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/cloudauth"
	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
	informers "github.com/portager/portager/pkg/generated/informers/externalversions/portager/v1alpha1"
	listers "github.com/portager/portager/pkg/generated/listers/portager/v1alpha1"
	"github.com/portager/portager/pkg/registrypolicy"
	"github.com/portager/portager/pkg/sanitize"
	"github.com/portager/portager/pkg/syncer"
	"github.com/portager/portager/pkg/syncplan"

	"github.com/portager/portager/pkg/digestname"

	"github.com/portager/portager/pkg/backoff"
)

// Config is what a Controller needs.
type Config struct {
	// Client reaches the ImageSync API, including the imagesyncs/writer
	// subresource; Kube reaches Secrets, ServiceAccounts,
	// SubjectAccessReviews and Events.
	Client clientset.Interface
	Kube   kubernetes.Interface
	// Informer watches ImageSyncs.
	Informer informers.ImageSyncInformer
	// PolicyInformer watches RegistryPolicies, which each run is checked
	// against before it starts.
	PolicyInformer informers.RegistryPolicyInformer
	// Resolver resolves internal host names that a RegistryPolicy CIDR might
	// cover (default: the system resolver).
	Resolver registrypolicy.Resolver
	// EngineOptions configure the copy engine; the controller adds its
	// metrics to the transport.
	EngineOptions syncer.Options
	// Cloud supplies destination credentials for auth methods "ecr" and
	// "gar" from the controller's own workload identity, and creates ECR
	// repositories. A nil provider makes its method CredentialsUnavailable.
	Cloud cloudauth.Providers
	// SigstoreRoot verifies keyless cosign signatures (gate.LoadTrustedRoot);
	// nil refuses them.
	SigstoreRoot root.TrustedMaterial
	Recorder     record.EventRecorder
	Metrics      *Metrics

	// MaxTransientRetries bounds retries of a run with transient failures
	// before it waits for the next schedule (default 5).
	MaxTransientRetries int
	// RetryBase and RetryCap bound the jittered exponential retry delay
	// (defaults 5s and 5m).
	RetryBase, RetryCap time.Duration
	// RateLimitCap bounds how long a registry's Retry-After may postpone a
	// retry (default 1h).
	RateLimitCap time.Duration
	// MinSyncInterval is the least time between the end of one run and a
	// run started by a spec change; a spec edited more often waits.
	MinSyncInterval time.Duration
	// ProgressInterval is the least time between progress writes (default 2s).
	ProgressInterval time.Duration
	// NamespaceWorkers is the most workers the ImageSyncs of one namespace
	// hold at once (0: no limit); a due ImageSync beyond it waits while the
	// other workers serve other namespaces.
	NamespaceWorkers int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Controller syncs ImageSyncs.
type Controller struct {
	cfg      Config
	lister   listers.ImageSyncLister
	policies listers.RegistryPolicyLister
	synced   []cache.InformerSynced
	// policyChecker decides on registries with the configured resolver.
	policyChecker registrypolicy.Checker
	queue         workqueue.TypedRateLimitingInterface[string]
	engine        *syncer.Engine
	creds         credentials

	mu sync.Mutex
	// attempts counts consecutive runs with transient failures per key, and
	// retryAt is when the next of those retries is due.
	attempts map[string]int
	retryAt  map[string]time.Time
	// finished remembers each key's last run until the informer cache shows
	// it, so a stale cached object cannot start the same run twice.
	finished map[string]finishedRun
	// share bounds the runs of one namespace under way at once.
	share namespaceShare
}

// finishedRun is what the last run of an ImageSync wrote.
type finishedRun struct {
	generation int64
	handledID  string
	at         time.Time
}

// New builds a controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.MaxTransientRetries == 0 {
		cfg.MaxTransientRetries = 5
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 5 * time.Second
	}
	if cfg.RetryCap == 0 {
		cfg.RetryCap = 5 * time.Minute
	}
	if cfg.RateLimitCap == 0 {
		cfg.RateLimitCap = time.Hour
	}
	if cfg.ProgressInterval == 0 {
		cfg.ProgressInterval = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.PolicyInformer == nil {
		return nil, errors.New("a RegistryPolicy informer is required")
	}
	c := &Controller{
		cfg:           cfg,
		lister:        cfg.Informer.Lister(),
		policies:      cfg.PolicyInformer.Lister(),
		synced:        []cache.InformerSynced{cfg.Informer.Informer().HasSynced, cfg.PolicyInformer.Informer().HasSynced},
		policyChecker: registrypolicy.Checker{Resolver: cfg.Resolver},
		// Retries are scheduled explicitly (AddAfter), so the queue's own
		// limiter only guards against hot loops on API errors.
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, time.Minute),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "imagesync"}),
		creds:    credentials{client: cfg.Client, kube: cfg.Kube, cloud: cfg.Cloud},
		attempts: map[string]int{},
		retryAt:  map[string]time.Time{},
		finished: map[string]finishedRun{},
		share:    namespaceShare{limit: cfg.NamespaceWorkers, running: map[string]int{}},
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(func() float64 { return float64(c.queue.Len()) })
		c.cfg.Metrics = cfg.Metrics
	}
	opts := cfg.EngineOptions
	wrap := opts.WrapTransport
	opts.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if wrap != nil {
			rt = wrap(rt)
		}
		return c.cfg.Metrics.instrument(rt)
	}
	changed := opts.BreakerChanged
	opts.BreakerChanged = func(host string, open bool) {
		if changed != nil {
			changed(host, open)
		}
		c.cfg.Metrics.breakerChanged(host, open)
	}
	engine, err := syncer.New(opts)
	if err != nil {
		return nil, fmt.Errorf("creating copy engine: %w", err)
	}
	c.engine = engine

	if _, err := cfg.Informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: c.deleted,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// QueueLen is the number of ImageSyncs waiting; metrics read it.
func (c *Controller) QueueLen() int { return c.queue.Len() }

func (c *Controller) enqueue(obj any) {
	key, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) deleted(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	c.cfg.Metrics.forget(ns, name)
	c.mu.Lock()
	delete(c.attempts, key)
	delete(c.retryAt, key)
	delete(c.finished, key)
	c.mu.Unlock()
	c.queue.Forget(key)
}

// Run processes ImageSyncs with the given number of workers until ctx ends.
// On return no worker is running, so nothing is pushed after cancellation.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.synced...) {
		return errors.New("ImageSync and RegistryPolicy informers did not sync")
	}
	logger.Info("Starting ImageSync workers", "workers", workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, c.worker, time.Second)
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	logger.Info("ImageSync workers stopped")
	return nil
}

func (c *Controller) worker(ctx context.Context) {
	for c.processNext(ctx) {
	}
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.reconcile(ctx, key); err != nil {
		if ctx.Err() == nil {
			utilruntime.HandleErrorWithContext(ctx, err, "Reconciling ImageSync", "key", key)
			c.queue.AddRateLimited(key)
		}
		return true
	}
	c.queue.Forget(key)
	return true
}

// reconcile decides what the ImageSync called key needs now and does it.
func (c *Controller) reconcile(ctx context.Context, key string) error {
	ns, nm, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	is, err := c.lister.ImageSyncs(ns).Get(nm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	// Never modify the informer's copy.
	is = c.withFinishedRun(key, is.DeepCopy())
	logger := klog.FromContext(ctx).WithValues("imageSync", klog.KObj(is))
	ctx = klog.NewContext(ctx, logger)
	now := c.cfg.Now()

	sched, err := parseSchedule(is.Spec.Schedule, now)
	if err != nil {
		// Nothing to schedule: the object waits for its next spec change.
		return c.patchStatus(ctx, is, func(st map[string]any, conds *[]metav1.Condition) {
			setCond(conds, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonInvalidSpec,
				Message: "spec.schedule " + sanitize.Message(err.Error()), ObservedGeneration: is.Generation})
			st["observedGeneration"] = is.Generation
			st["nextSyncTime"] = nil
		})
	}

	if is.Spec.Suspend {
		return c.markSuspended(ctx, is)
	}

	c.mu.Lock()
	retryAt, retrying := c.retryAt[key]
	c.mu.Unlock()
	p := decide(is, sched, retrying && !now.Before(retryAt), c.cfg.MinSyncInterval, now)
	if p.trigger == "" {
		if p.next.IsZero() {
			return nil
		}
		if next := is.Status.NextSyncTime; next == nil || !next.Time.Equal(p.next.Truncate(time.Second)) {
			if err := c.patchStatus(ctx, is, func(st map[string]any, _ *[]metav1.Condition) {
				st["nextSyncTime"] = metav1.NewTime(p.next)
			}); err != nil {
				return err
			}
		}
		wake := p.next
		if retrying && retryAt.Before(wake) {
			wake = retryAt
		}
		c.queue.AddAfter(key, wake.Sub(now))
		return nil
	}
	c.mu.Lock()
	started := c.share.tryStart(is.Namespace)
	c.mu.Unlock()
	if !started {
		klog.FromContext(ctx).V(2).Info("Sync waits: its namespace holds its share of workers", "limit", c.cfg.NamespaceWorkers)
		c.queue.AddAfter(key, fairShareRetry)
		return nil
	}
	defer func() {
		c.mu.Lock()
		c.share.done(is.Namespace)
		c.mu.Unlock()
	}()
	return c.run(ctx, key, is, p.trigger, sched)
}

// withFinishedRun lays the last run this controller finished over a cached
// object that does not show it yet.
func (c *Controller) withFinishedRun(key string, is *v1alpha1.ImageSync) *v1alpha1.ImageSync {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.finished[key]
	if !ok {
		return is
	}
	st := &is.Status
	caughtUp := st.ObservedGeneration >= f.generation && st.LastSyncTime != nil && !st.LastSyncTime.Time.Before(f.at.Truncate(time.Second))
	if caughtUp {
		delete(c.finished, key)
		return is
	}
	if st.ObservedGeneration < f.generation {
		st.ObservedGeneration = f.generation
	}
	if p := st.PendingSyncRequest; p != nil && p.ID == f.handledID {
		st.PendingSyncRequest = nil
	}
	st.LastSyncTime = &metav1.Time{Time: f.at}
	return is
}

// markSuspended says so on the object, once.
func (c *Controller) markSuspended(ctx context.Context, is *v1alpha1.ImageSync) error {
	if r := findCond(is.Status.Conditions, ConditionReady); r != nil && r.Reason == ReasonSuspended && is.Status.NextSyncTime == nil {
		return nil
	}
	return c.patchStatus(ctx, is, func(st map[string]any, conds *[]metav1.Condition) {
		setCond(conds, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonSuspended,
			Message: "spec.suspend is true: no scheduled or on-demand syncs run", ObservedGeneration: is.Generation})
		setCond(conds, metav1.Condition{Type: ConditionSyncing, Status: metav1.ConditionFalse, Reason: ReasonSuspended,
			Message: "suspended", ObservedGeneration: is.Generation})
		st["nextSyncTime"] = nil
	})
}

// run syncs is once and reports the outcome.
func (c *Controller) run(ctx context.Context, key string, is *v1alpha1.ImageSync, trigger string, sched cronSchedule) error {
	logger := klog.FromContext(ctx)
	start := c.cfg.Now()
	handled := is.Status.PendingSyncRequest.DeepCopy()
	logger.Info("Sync starting", "trigger", trigger, "generation", is.Generation)

	reachable, err := c.checkPolicies(ctx, is)
	if err != nil {
		var pe *policyError
		if !errors.As(err, &pe) {
			return err
		}
		msg := sanitize.Message(pe.Error())
		c.cfg.Recorder.Event(is, corev1.EventTypeWarning, ReasonRegistryNotAllowed, msg)
		return c.finish(ctx, key, is, handled, sched, start, "error", func(st map[string]any, conds *[]metav1.Condition) {
			setCond(conds, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonRegistryNotAllowed,
				Message: msg, ObservedGeneration: is.Generation})
		}, runSummary{})
	}

	creds, err := c.creds.resolve(ctx, is)
	if errors.Is(err, errSpecMoved) {
		// The informer delivers the newer spec, which runs instead.
		logger.V(2).Info("Sync skipped: the spec changed since it was read")
		c.queue.AddAfter(key, time.Second)
		return nil
	}
	if err != nil {
		reason, ok := credentialReason(err)
		if !ok {
			reason = ReasonCredentialsUnavailable
		}
		c.cfg.Recorder.Event(is, corev1.EventTypeWarning, reason, err.Error())
		return c.finish(ctx, key, is, handled, sched, start, "error", func(st map[string]any, conds *[]metav1.Condition) {
			setCond(conds, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: reason,
				Message: err.Error(), ObservedGeneration: is.Generation})
		}, runSummary{})
	}
	if err := c.patchStatus(ctx, is, func(_ map[string]any, conds *[]metav1.Condition) {
		setCond(conds, metav1.Condition{Type: ConditionSyncing, Status: metav1.ConditionTrue, Reason: ReasonInProgress,
			Message: fmt.Sprintf("sync started (%s)", trigger), ObservedGeneration: is.Generation})
	}); err != nil {
		return err
	}

	// A spec the engine cannot run (which API validation should have
	// refused) is reported on Ready and in an Event.
	invalidSpec := func(err error) error {
		msg := sanitize.Message(err.Error())
		c.cfg.Recorder.Event(is, corev1.EventTypeWarning, ReasonInvalidSpec, msg)
		return c.finish(ctx, key, is, handled, sched, start, "error", func(st map[string]any, conds *[]metav1.Condition) {
			setCond(conds, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonInvalidSpec,
				Message: msg, ObservedGeneration: is.Generation})
		}, runSummary{})
	}
	creds.SigstoreRoot = c.cfg.SigstoreRoot
	req, err := syncplan.Request(&is.Spec, creds)
	if err != nil {
		return invalidSpec(err)
	}
	req.AllowInternal = reachable
	req.Tenant = is.Namespace
	c.ensureRepositories(ctx, is, req)
	gated := req.Gate != nil
	// Progress is written from its own goroutine so that a slow API server
	// never holds up the copy; it stops before the final status is written.
	var done atomic.Int64
	req.Progress = func(syncer.TagResult) { done.Add(1) }
	stopProgress := c.reportProgress(ctx, is, trigger, &done)
	runCtx := ctx
	if is.Spec.Timeout != nil {
		// The engine reports this cause on every tag the deadline cuts
		// short; such tags are transient and retried after the backoff.
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, is.Spec.Timeout.Duration,
			fmt.Errorf("the run exceeded spec.timeout (%s) before this tag finished", is.Spec.Timeout.Duration))
		defer cancel()
	}
	results, err := c.engine.Sync(runCtx, req)
	stopProgress()
	if ctx.Err() != nil {
		// Shutdown or lost leadership: the engine stopped before moving any
		// tag it had not finished. The next leader runs it again.
		logger.Info("Sync abandoned", "reason", ctx.Err())
		return nil
	}
	if err != nil {
		return invalidSpec(err)
	}

	if runCtx.Err() != nil {
		c.cfg.Recorder.Eventf(is, corev1.EventTypeWarning, ReasonSyncTimedOut,
			"the run exceeded spec.timeout (%s); unfinished tags are retried", is.Spec.Timeout.Duration)
	}
	now := metav1.NewTime(c.cfg.Now())
	images, sum := imageStatuses(&is.Spec, is.Status.Images, results, now, gated)
	result := c.report(is, results, sum)
	return c.finish(ctx, key, is, handled, sched, start, result, func(st map[string]any, conds *[]metav1.Condition) {
		st["images"] = images
		st["totalImages"] = sum.total
		st["syncedImages"] = sum.synced
		st["failedImages"] = sum.failed
		setCond(conds, readyCondition(sum, is.Generation))
	}, sum)
}

// reportProgress writes "N tags done" to the Syncing condition every
// ProgressInterval while a run goes on. The returned func stops it and waits.
func (c *Controller) reportProgress(ctx context.Context, is *v1alpha1.ImageSync, trigger string, done *atomic.Int64) func() {
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(c.cfg.ProgressInterval)
		defer ticker.Stop()
		var written int64
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			n := done.Load()
			if n == written {
				continue
			}
			written = n
			msg := fmt.Sprintf("%d tags done (%s)", n, trigger)
			if err := c.patchStatus(ctx, is, func(_ map[string]any, conds *[]metav1.Condition) {
				setCond(conds, metav1.Condition{Type: ConditionSyncing, Status: metav1.ConditionTrue, Reason: ReasonInProgress,
					Message: msg, ObservedGeneration: is.Generation})
			}); err != nil {
				klog.FromContext(ctx).V(2).Info("Progress not written", "err", err)
			}
		}
	}()
	return func() {
		close(stop)
		<-finished
	}
}

// finish writes the end of a run and schedules what comes next: a bounded,
// jittered retry after transient failures, the registry's Retry-After
// (capped) after rate limiting, and otherwise the next scheduled run.
func (c *Controller) finish(ctx context.Context, key string, is *v1alpha1.ImageSync, handled *v1alpha1.SyncRequestRecord,
	sched cronSchedule, start time.Time, result string, fill func(map[string]any, *[]metav1.Condition), sum runSummary) error {
	now := c.cfg.Now()
	next := sched.Next(now)
	elapsed := now.Sub(start)
	err := c.patchStatus(ctx, is, func(st map[string]any, conds *[]metav1.Condition) {
		fill(st, conds)
		st["lastSyncTime"] = metav1.NewTime(now)
		st["nextSyncTime"] = metav1.NewTime(next)
		st["observedGeneration"] = is.Generation
		if handled != nil {
			st["lastHandledSyncRequest"] = handled
			// The server clears the pending request only when it is the one
			// acknowledged here; a newer one stays pending.
			st["pendingSyncRequest"] = nil
		}
		setCond(conds, metav1.Condition{Type: ConditionSyncing, Status: metav1.ConditionFalse, Reason: ReasonIdle,
			Message: fmt.Sprintf("last run took %s", elapsed.Round(time.Millisecond)), ObservedGeneration: is.Generation})
	})
	if err != nil {
		return err
	}
	rec := finishedRun{generation: is.Generation, at: now}
	if handled != nil {
		rec.handledID = handled.ID
	}
	ns, nm := is.Namespace, is.Name
	c.cfg.Metrics.runs.WithLabelValues(result).Inc()
	c.cfg.Metrics.runDuration.WithLabelValues(result).Observe(elapsed.Seconds())
	c.cfg.Metrics.lastSync.WithLabelValues(ns, nm).Set(float64(now.Unix()))
	c.cfg.Metrics.failedTags.WithLabelValues(ns, nm).Set(float64(sum.failed))

	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished[key] = rec
	var delay time.Duration
	switch {
	case !sum.retryAt.IsZero() && c.attempts[key] < c.cfg.MaxTransientRetries:
		delay = max(min(sum.retryAt.Sub(now), c.cfg.RateLimitCap), 0)
		klog.FromContext(ctx).Info("Rate limited; retrying at the registry's time", "after", delay)
	case sum.transient && c.attempts[key] < c.cfg.MaxTransientRetries:
		delay = backoff.Delay(c.cfg.RetryBase, c.cfg.RetryCap, c.attempts[key])
		klog.FromContext(ctx).Info("Transient failures; retrying", "attempt", c.attempts[key]+1, "after", delay)
	default:
		// Success or deterministic failure: wait for the schedule.
		delete(c.attempts, key)
		delete(c.retryAt, key)
		c.queue.AddAfter(key, next.Sub(now))
		return nil
	}
	c.attempts[key]++
	c.retryAt[key] = now.Add(delay)
	c.queue.AddAfter(key, delay)
	return nil
}

// report emits the run's Events and metrics: one summary, one Event per
// copied tag (copies are rare and worth seeing) and per failed tag, none for
// tags that were already up to date.
// It returns the run's result label.
func (c *Controller) report(is *v1alpha1.ImageSync, results []syncer.TagResult, sum runSummary) string {
	for _, r := range results {
		c.cfg.Metrics.tags.WithLabelValues(map[syncer.Outcome]string{
			syncer.OutcomeCopied: "copied", syncer.OutcomeSkipped: "skipped", syncer.OutcomeFailed: "failed"}[r.Outcome]).Inc()
		switch r.Outcome {
		case syncer.OutcomeCopied:
			c.cfg.Recorder.Eventf(is, corev1.EventTypeNormal, "ImageSynced", "Synced %s -> %s (digest: %s)", r.Source, r.Destination, digestname.Short(r.Digest))
		case syncer.OutcomeFailed:
			ref := r.Source
			if ref == "" {
				ref = r.Image
			}
			c.cfg.Recorder.Eventf(is, corev1.EventTypeWarning, "TagSyncFailed", "%s: %s: %s", ref, r.Reason, r.Message)
		}
	}
	c.cfg.Metrics.bytesCopied.Add(float64(sum.bytes))
	result, eventType, reason := "success", corev1.EventTypeNormal, "SyncComplete"
	switch {
	case sum.failed > 0 && sum.synced == 0:
		result, eventType, reason = "failed", corev1.EventTypeWarning, "SyncFailed"
	case sum.failed > 0:
		result, eventType, reason = "partial", corev1.EventTypeWarning, "SyncPartiallyFailed"
	}
	c.cfg.Recorder.Eventf(is, eventType, reason, "Sync complete: %d synced (%d copied), %d failed, %d total", sum.synced, sum.copied, sum.failed, sum.total)
	return result
}

// patchStatus writes status fields with a JSON merge patch on the status
// subresource. The controller sends only the fields it sets, so the patch
// never overwrites what the server records (sync requests, the checked
// identity). A merge patch replaces lists, so conditions are sent only when
// they change, computed from the server's current ones rather than from a
// cached copy that may be stale.
func (c *Controller) patchStatus(ctx context.Context, is *v1alpha1.ImageSync, fill func(st map[string]any, conds *[]metav1.Condition)) error {
	client := c.cfg.Client.PortagerV1alpha1().ImageSyncs(is.Namespace)
	current, err := client.Get(ctx, is.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading status: %w", err)
	}
	st := map[string]any{}
	conds := append([]metav1.Condition(nil), current.Status.Conditions...)
	fill(st, &conds)
	if !apiequality.Semantic.DeepEqual(conds, current.Status.Conditions) {
		st["conditions"] = conds
	}
	if len(st) == 0 {
		return nil
	}
	body, err := json.Marshal(map[string]any{"status": st})
	if err != nil {
		return err
	}
	if _, err := client.Patch(ctx, is.Name, types.MergePatchType, body, metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

func setCond(conds *[]metav1.Condition, c metav1.Condition) {
	c.Message = truncate(c.Message, 1024)
	for i := range *conds {
		if (*conds)[i].Type == c.Type {
			if (*conds)[i].Status == c.Status {
				c.LastTransitionTime = (*conds)[i].LastTransitionTime
			}
			if c.LastTransitionTime.IsZero() {
				c.LastTransitionTime = metav1.Now()
			}
			(*conds)[i] = c
			return
		}
	}
	c.LastTransitionTime = metav1.Now()
	*conds = append(*conds, c)
}

func findCond(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
