package imagesync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// Cloud supplies credentials for auth methods "ecr", "gar" and "acr",
	// of either side, from the controller's own workload identity, and
	// creates ECR repositories. A nil provider makes its method
	// CredentialsUnavailable.
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
	queue         workqueue.TypedRateLimitingInterface[cache.ObjectName]
	engine        *syncer.Engine
	creds         credentials

	mu sync.Mutex
	// attempts counts consecutive runs with transient failures per key, and
	// retryAt is when the next of those retries is due.
	attempts map[cache.ObjectName]int
	retryAt  map[cache.ObjectName]time.Time
	// finished remembers each key's last run until the informer cache shows
	// it, so a stale cached object cannot start the same run twice.
	finished map[cache.ObjectName]finishedRun
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
			workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](time.Second, time.Minute),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "imagesync"}),
		creds:    credentials{client: cfg.Client, kube: cfg.Kube, cloud: cfg.Cloud, sigstoreRoot: cfg.SigstoreRoot},
		attempts: map[cache.ObjectName]int{},
		retryAt:  map[cache.ObjectName]time.Time{},
		finished: map[cache.ObjectName]finishedRun{},
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
	key, err := cache.ObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) deleted(obj any) {
	key, err := cache.DeletionHandlingObjectToName(obj)
	if err != nil {
		return
	}
	c.cfg.Metrics.forget(key.Namespace, key.Name)
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
func (c *Controller) reconcile(ctx context.Context, key cache.ObjectName) error {
	is, err := c.lister.ImageSyncs(key.Namespace).Get(key.Name)
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
		return c.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) {
			setCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonInvalidSpec,
				Message: "spec.schedule " + sanitize.Message(err.Error()), ObservedGeneration: is.Generation})
			st.ObservedGeneration = is.Generation
			st.NextSyncTime = nil
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
			if err := c.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) {
				st.NextSyncTime = &metav1.Time{Time: p.next}
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
func (c *Controller) withFinishedRun(key cache.ObjectName, is *v1alpha1.ImageSync) *v1alpha1.ImageSync {
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
	if r := meta.FindStatusCondition(is.Status.Conditions, v1alpha1.ConditionReady); r != nil && r.Reason == ReasonSuspended && is.Status.NextSyncTime == nil {
		return nil
	}
	return c.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) {
		setCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonSuspended,
			Message: "spec.suspend is true: no scheduled or on-demand syncs run", ObservedGeneration: is.Generation})
		setCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionSyncing, Status: metav1.ConditionFalse, Reason: ReasonSuspended,
			Message: "suspended", ObservedGeneration: is.Generation})
		st.NextSyncTime = nil
	})
}

// syncRun is one run of an ImageSync: what finish writes its end for.
type syncRun struct {
	key   cache.ObjectName
	is    *v1alpha1.ImageSync
	sched cronSchedule
	start time.Time
	// handled is the on-demand request the run serves, if any.
	handled *v1alpha1.SyncRequestRecord
}

// runOutcome is how a run ended.
type runOutcome struct {
	// result labels the run's metrics: success, partial, failed or error.
	result string
	// ready is the Ready condition the run leaves.
	ready metav1.Condition
	// copied says the engine ran to the end: images and the counters of sum
	// replace status.images and its counters. A run stopped before the copy
	// leaves those as the previous run wrote them.
	copied bool
	images []v1alpha1.ImageStatus
	sum    runSummary
}

// failedRun is the outcome of a run stopped before the copy, for reason.
func failedRun(is *v1alpha1.ImageSync, reason, msg string) runOutcome {
	return runOutcome{result: "error", ready: metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: reason, Message: msg, ObservedGeneration: is.Generation}}
}

// run syncs is once and reports the outcome.
func (c *Controller) run(ctx context.Context, key cache.ObjectName, is *v1alpha1.ImageSync, trigger string, sched cronSchedule) error {
	logger := klog.FromContext(ctx)
	r := syncRun{key: key, is: is, sched: sched, start: c.cfg.Now(), handled: is.Status.PendingSyncRequest.DeepCopy()}
	logger.Info("Sync starting", "trigger", trigger, "generation", is.Generation)

	reachable, err := c.checkPolicies(ctx, is)
	if err != nil {
		var pe *policyError
		if !errors.As(err, &pe) {
			return err
		}
		msg := sanitize.Message(pe.Error())
		c.cfg.Recorder.Event(is, corev1.EventTypeWarning, ReasonRegistryNotAllowed, msg)
		return c.finish(ctx, r, failedRun(is, ReasonRegistryNotAllowed, msg))
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
		return c.finish(ctx, r, failedRun(is, reason, err.Error()))
	}
	if err := c.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) {
		setCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionSyncing, Status: metav1.ConditionTrue, Reason: ReasonInProgress,
			Message: fmt.Sprintf("sync started (%s)", trigger), ObservedGeneration: is.Generation})
	}); err != nil {
		return err
	}

	// A spec the engine cannot run (which API validation should have
	// refused) is reported on Ready and in an Event.
	invalidSpec := func(err error) error {
		msg := sanitize.Message(err.Error())
		c.cfg.Recorder.Event(is, corev1.EventTypeWarning, ReasonInvalidSpec, msg)
		return c.finish(ctx, r, failedRun(is, ReasonInvalidSpec, msg))
	}
	req, err := syncplan.Request(&is.Spec, creds)
	if err != nil {
		return invalidSpec(err)
	}
	req.AllowInternal = reachable
	req.Tenant = is.Namespace
	req.Filtered = filteredRecords(is)
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
	return c.finish(ctx, r, runOutcome{result: c.report(is, results, sum), ready: readyCondition(sum, is.Generation),
		copied: true, images: images, sum: sum})
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
			if err := c.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) {
				setCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionSyncing, Status: metav1.ConditionTrue, Reason: ReasonInProgress,
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

// finish writes the end of run r and schedules what comes next: a bounded,
// jittered retry after transient failures, the registry's Retry-After
// (capped) after rate limiting, and otherwise the next scheduled run.
func (c *Controller) finish(ctx context.Context, r syncRun, out runOutcome) error {
	is, key := r.is, r.key
	now := c.cfg.Now()
	next := r.sched.Next(now)
	elapsed := now.Sub(r.start)
	err := c.applyStatus(ctx, is, func(st *v1alpha1.ImageSyncStatus) {
		if out.copied {
			st.Images = out.images
			st.TotalImages, st.SyncedImages, st.FailedImages = out.sum.total, out.sum.synced, out.sum.failed
		}
		setCondition(&st.Conditions, out.ready)
		st.LastSyncTime = &metav1.Time{Time: now}
		// A schedule with no run left has no next sync time.
		st.NextSyncTime = nil
		if !next.IsZero() {
			st.NextSyncTime = &metav1.Time{Time: next}
		}
		st.ObservedGeneration = is.Generation
		if r.handled != nil {
			// The server clears the pending request when it is the one
			// acknowledged here; a newer one stays pending.
			st.LastHandledSyncRequest = r.handled
		}
		setCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionSyncing, Status: metav1.ConditionFalse, Reason: ReasonIdle,
			Message: fmt.Sprintf("last run took %s", elapsed.Round(time.Millisecond)), ObservedGeneration: is.Generation})
	})
	if err != nil {
		return err
	}
	rec := finishedRun{generation: is.Generation, at: now}
	if r.handled != nil {
		rec.handledID = r.handled.ID
	}
	sum := out.sum
	c.cfg.Metrics.runs.WithLabelValues(out.result).Inc()
	c.cfg.Metrics.runDuration.WithLabelValues(out.result).Observe(elapsed.Seconds())
	c.cfg.Metrics.lastSync.WithLabelValues(is.Namespace, is.Name).Set(float64(now.Unix()))
	c.cfg.Metrics.failedTags.WithLabelValues(is.Namespace, is.Name).Set(float64(sum.failed))

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
