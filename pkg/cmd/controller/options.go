package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/cloudauth"
	"github.com/portager/portager/pkg/cmd/engineoptions"
	"github.com/portager/portager/pkg/cmd/metricsserving"
	controller "github.com/portager/portager/pkg/controller/imagesync"
	"github.com/portager/portager/pkg/gate"
	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
	"github.com/portager/portager/pkg/generated/clientset/versioned/scheme"
	informers "github.com/portager/portager/pkg/generated/informers/externalversions"
	"github.com/portager/portager/pkg/version"
)

// Options are the controller's flags.
type Options struct {
	Kubeconfig string
	Workers    int
	// NamespaceWorkers bounds the workers one namespace holds.
	NamespaceWorkers int

	// Engine holds the copy engine's flags. Transport policy among them
	// belongs to the cluster admin: no ImageSync can lower it.
	Engine *engineoptions.Options
	// SigstoreTrustedRoot is the trusted_root.json keyless cosign
	// signatures are verified with; empty is the built-in public-good root.
	SigstoreTrustedRoot string

	MaxTransientRetries int
	RateLimitCap        time.Duration
	// MinSyncInterval is the least time between the end of a run and a run
	// started by a spec change.
	MinSyncInterval time.Duration

	// Serving is the HTTPS endpoint of /metrics (authenticated and
	// authorized against the cluster), /healthz and /readyz.
	Serving *metricsserving.Options

	LeaderElect                bool
	LeaderElectionNamespace    string
	LeaderElectionID           string
	LeaseDuration              time.Duration
	RenewDeadline, RetryPeriod time.Duration

	// EngineTransport, if set, wraps the engine's transport (tests count
	// registry requests per controller with it).
	EngineTransport func(http.RoundTripper) http.RoundTripper

	// Ready is closed once the controller serves (tests wait on it).
	Ready chan struct{}
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Workers:                 16,
		NamespaceWorkers:        4,
		Engine:                  engineoptions.NewOptions(),
		MaxTransientRetries:     5,
		RateLimitCap:            time.Hour,
		MinSyncInterval:         30 * time.Second,
		Serving:                 metricsserving.NewOptions("portager-controller"),
		LeaderElectionNamespace: "portager-system",
		LeaderElectionID:        "portager-controller",
		LeaseDuration:           15 * time.Second,
		RenewDeadline:           10 * time.Second,
		RetryPeriod:             2 * time.Second,
		Ready:                   make(chan struct{}),
	}
}

// AddFlags adds the flags to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the cluster (in-cluster config when empty).")
	fs.IntVar(&o.Workers, "workers", o.Workers, "ImageSyncs synced at once.")
	fs.IntVar(&o.NamespaceWorkers, "namespace-workers", o.NamespaceWorkers, "Most workers the ImageSyncs of one namespace hold at once, so that one tenant cannot occupy the controller; 0 for no limit.")
	fs.StringVar(&o.SigstoreTrustedRoot, "sigstore-trusted-root", o.SigstoreTrustedRoot, "Sigstore trusted_root.json (Fulcio CAs, Rekor and CT log keys) that keyless cosign signatures are verified with; it must list a CT log. Default: the public-good instance's root built into this binary.")
	o.Engine.AddFlags(fs)
	// The first name of --registry-concurrency; still accepted.
	fs.IntVar(&o.Engine.RegistryConcurrency, "per-registry-concurrency", o.Engine.RegistryConcurrency, "In-flight requests per registry host.")
	_ = fs.MarkDeprecated("per-registry-concurrency", "use --registry-concurrency")
	fs.IntVar(&o.MaxTransientRetries, "max-transient-retries", o.MaxTransientRetries, "Retries of a run with transient failures before it waits for the schedule.")
	fs.DurationVar(&o.RateLimitCap, "rate-limit-cap", o.RateLimitCap, "Longest a registry's Retry-After may postpone a retry.")
	fs.DurationVar(&o.MinSyncInterval, "min-sync-interval", o.MinSyncInterval, "Least time between the end of one run of an ImageSync and a run started by a change of its spec; earlier changes wait. The API server's flag of the same name limits on-demand requests. 0 disables the limit.")
	o.Serving.AddFlags(fs)
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Hold a Lease so that only one replica syncs.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "Namespace of the leader Lease.")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "Name of the leader Lease.")
	fs.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", o.LeaseDuration, "Lease duration.")
	fs.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", o.RenewDeadline, "Renew deadline.")
	fs.DurationVar(&o.RetryPeriod, "leader-election-retry-period", o.RetryPeriod, "Retry period.")
}

// Complete fills in what the flags leave open.
func (o *Options) Complete() error {
	return o.Serving.Complete()
}

// Validate checks the flags.
func (o *Options) Validate() error {
	var errs []error
	if o.NamespaceWorkers < 0 {
		errs = append(errs, errors.New("--namespace-workers must not be negative"))
	}
	if o.Workers < 1 {
		errs = append(errs, errors.New("--workers must be at least 1"))
	}
	if o.MinSyncInterval < 0 {
		errs = append(errs, errors.New("--min-sync-interval must not be negative"))
	}
	errs = append(errs, o.Engine.Validate()...)
	errs = append(errs, o.Serving.Validate()...)
	return utilerrors.NewAggregate(errs)
}

func (o *Options) restConfig() (*rest.Config, error) {
	if o.Kubeconfig == "" {
		return rest.InClusterConfig()
	}
	return clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
}

// Run runs the controller until ctx ends. With leader election it syncs only
// while it holds the Lease, and stops syncing the moment it loses it.
func (o *Options) Run(ctx context.Context) error {
	cfg, err := o.restConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "portager-controller"
	client, err := clientset.NewForConfig(cfg)
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return o.RunWithClients(ctx, client, kube)
}

// RunWithClients is Run with the clients made: client for ImageSyncs, kube
// for Secrets, SubjectAccessReviews, Events and the leader Lease.
func (o *Options) RunWithClients(ctx context.Context, client clientset.Interface, kube kubernetes.Interface) error {
	logger := klog.FromContext(ctx)
	engineOpts, err := o.Engine.ToEngine()
	if err != nil {
		return err
	}

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(3)
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	// Events refer to ImageSyncs, so their scheme needs our types too; a
	// scheme of its own keeps the shared ones read-only.
	eventScheme := runtime.NewScheme()
	if err := scheme.AddToScheme(eventScheme); err != nil {
		return err
	}
	if err := kubescheme.AddToScheme(eventScheme); err != nil {
		return err
	}
	recorder := broadcaster.NewRecorder(eventScheme, corev1.EventSource{Component: "portager-controller"})

	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	if o.EngineTransport != nil {
		engineOpts.WrapTransport = o.EngineTransport
	}
	var ctrl *controller.Controller
	metrics := controller.NewMetrics(func() float64 {
		if ctrl == nil {
			return 0
		}
		return float64(ctrl.QueueLen())
	})
	sigstoreRoot, err := gate.LoadTrustedRoot(o.SigstoreTrustedRoot)
	if err != nil {
		return err
	}
	ctrl, err = controller.New(controller.Config{
		Client: client, Kube: kube,
		Informer:            factory.Portager().V1alpha1().ImageSyncs(),
		PolicyInformer:      factory.Portager().V1alpha1().RegistryPolicies(),
		EngineOptions:       engineOpts,
		Cloud:               cloudauth.NewProviders(),
		SigstoreRoot:        sigstoreRoot,
		Recorder:            recorder,
		Metrics:             metrics,
		MaxTransientRetries: o.MaxTransientRetries,
		RateLimitCap:        o.RateLimitCap,
		MinSyncInterval:     o.MinSyncInterval,
		NamespaceWorkers:    o.NamespaceWorkers,
	})
	if err != nil {
		return err
	}

	if err := o.Serving.Serve(ctx, kube, promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{})); err != nil {
		return err
	}

	run := func(ctx context.Context) {
		factory.Start(ctx.Done())
		if err := ctrl.Run(ctx, o.Workers); err != nil {
			logger.Error(err, "Controller stopped")
		}
	}
	close(o.Ready)
	if !o.LeaderElect {
		run(ctx)
		factory.Shutdown()
		return nil
	}

	id, _ := os.Hostname()
	id = id + "_" + string(uuid.NewUUID())
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, o.LeaderElectionNamespace, o.LeaderElectionID,
		kube.CoreV1(), kube.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: id, EventRecorder: recorder})
	if err != nil {
		return err
	}
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock: lock, LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            o.LeaderElectionID,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: run,
			OnStoppedLeading: func() { logger.Info("Leadership lost or released", "identity", id) },
		},
	})
	factory.Shutdown()
	return nil
}

// NewCommand returns the portager-controller command.
func NewCommand(ctx context.Context) *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:          "portager-controller",
		Version:      version.Get().String(),
		Short:        "Sync ImageSyncs: scheduled, on-demand and on spec change",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	cmd.SetContext(ctx)
	o.AddFlags(cmd.Flags())
	return cmd
}
