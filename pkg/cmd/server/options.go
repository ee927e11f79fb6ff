package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/apis/portager/validation"
	"github.com/portager/portager/pkg/apiserver"
	"github.com/portager/portager/pkg/embeddedetcd"
	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
	generatedopenapi "github.com/portager/portager/pkg/generated/openapi"
	"github.com/portager/portager/pkg/quota"
	imagesyncstorage "github.com/portager/portager/pkg/registry/imagesync"
	"github.com/portager/portager/pkg/version"
)

const defaultEtcdPathPrefix = "/registry/portager.portager.io"

// Options are the flags of the Portager API server.
type Options struct {
	RecommendedOptions *genericoptions.RecommendedOptions
	// ComponentGlobalsRegistry holds the effective version and feature gates.
	// Each Options gets its own, so that tests can run several servers.
	ComponentGlobalsRegistry basecompatibility.ComponentGlobalsRegistry

	// EtcdDataDir is where the embedded etcd keeps its data when no
	// --etcd-servers is given.
	EtcdDataDir string

	// Standalone serves without a kube-apiserver: no delegated authentication,
	// authorization or admission; one admin token written to a kubeconfig.
	Standalone bool
	// StandaloneKubeconfig is where standalone mode writes its kubeconfig.
	StandaloneKubeconfig string

	// AllowCrossNamespaceSecretRefs lets ImageSyncs reference Secrets in
	// other namespaces; each reference is still checked as the user.
	AllowCrossNamespaceSecretRefs bool
	// MinSyncInterval is the least time between accepted sync requests for
	// one ImageSync.
	MinSyncInterval time.Duration
	// MinScheduleInterval is the shortest time between two scheduled runs
	// a spec.schedule may ask for.
	MinScheduleInterval time.Duration
	// SecretCheckTimeout bounds the SubjectAccessReview of one Secret
	// reference; a write whose check does not finish in time is refused.
	SecretCheckTimeout time.Duration

	// AlternateDNS are extra names for the self-signed serving certificate,
	// e.g. the Service name kube-apiserver dials.
	AlternateDNS []string

	Out, ErrOut io.Writer

	// embeddedEtcd is set by Complete when it started an embedded etcd.
	embeddedEtcd *embeddedetcd.Server
}

// NewOptions returns the default options.
func NewOptions(out, errOut io.Writer) *Options {
	o := &Options{
		RecommendedOptions: genericoptions.NewRecommendedOptions(
			defaultEtcdPathPrefix,
			apiserver.Codecs.LegacyCodec(v1alpha1.SchemeGroupVersion),
		),
		ComponentGlobalsRegistry: basecompatibility.NewComponentGlobalsRegistry(),
		EtcdDataDir:              "portager-data/etcd",
		MinSyncInterval:          30 * time.Second,
		MinScheduleInterval:      validation.DefaultMinScheduleInterval,
		SecretCheckTimeout:       10 * time.Second,
		Out:                      out,
		ErrOut:                   errOut,
	}
	o.RecommendedOptions.Etcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(
		v1alpha1.SchemeGroupVersion, schema.GroupKind{Group: v1alpha1.GroupName})
	// ResourceQuota counts ImageSyncs only if this server enforces it.
	resourcequota.Register(o.RecommendedOptions.Admission.Plugins)
	o.RecommendedOptions.Admission.RecommendedPluginOrder = append(o.RecommendedOptions.Admission.RecommendedPluginOrder, resourcequota.PluginName)
	o.RecommendedOptions.ExtraAdmissionInitializers = func(c *genericapiserver.RecommendedConfig) ([]admission.PluginInitializer, error) {
		client, err := clientset.NewForConfig(c.LoopbackClientConfig)
		if err != nil {
			return nil, fmt.Errorf("creating the loopback client quota lists ImageSyncs with: %w", err)
		}
		return []admission.PluginInitializer{quota.Initializer{Configuration: quota.Configuration(client)}}, nil
	}
	// A copy of the process-wide gate keeps several servers in one process
	// (tests) from fighting over one gate.
	_, _ = o.ComponentGlobalsRegistry.ComponentGlobalsOrRegister(basecompatibility.DefaultKubeComponent,
		compatibility.DefaultBuildEffectiveVersion(), utilfeature.DefaultMutableFeatureGate.DeepCopy())
	return o
}

// AddFlags adds the server's flags to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.RecommendedOptions.AddFlags(fs)
	o.ComponentGlobalsRegistry.AddFlags(fs)
	fs.StringVar(&o.EtcdDataDir, "etcd-data-dir", o.EtcdDataDir,
		"Data directory of the embedded etcd, used when --etcd-servers is not set. Objects survive restarts on the same directory.")
	fs.BoolVar(&o.Standalone, "standalone", o.Standalone,
		"Serve without a kube-apiserver, for local use only: no delegated authentication, authorization or admission. "+
			"A kubeconfig with an admin token is written to --standalone-kubeconfig. Never use this in a cluster.")
	fs.StringVar(&o.StandaloneKubeconfig, "standalone-kubeconfig", "",
		"Where --standalone writes its kubeconfig (default: kubeconfig next to --etcd-data-dir).")
	fs.BoolVar(&o.AllowCrossNamespaceSecretRefs, "allow-cross-namespace-secret-refs", o.AllowCrossNamespaceSecretRefs,
		"Let ImageSyncs reference Secrets in other namespaces. The writer must still be allowed to get each Secret.")
	fs.DurationVar(&o.MinSyncInterval, "min-sync-interval", o.MinSyncInterval,
		"Least time between two accepted on-demand sync requests for one ImageSync; earlier requests get 429 with Retry-After. 0 disables the limit.")
	fs.DurationVar(&o.MinScheduleInterval, "min-schedule-interval", o.MinScheduleInterval,
		"Shortest time between two scheduled runs that spec.schedule may ask for; shorter schedules are refused with the field path. An ImageSync already stored keeps its schedule until its spec next changes.")
	fs.DurationVar(&o.SecretCheckTimeout, "secret-check-timeout", o.SecretCheckTimeout,
		"How long the check that a user may get a referenced Secret may take; writes whose check does not finish are refused.")
	fs.StringSliceVar(&o.AlternateDNS, "alternate-dns", o.AlternateDNS,
		"Extra DNS names for the self-signed serving certificate, e.g. portager-apiserver.portager-system.svc.")
}

// Complete fills in what the flags left open. Without --etcd-servers it starts
// the embedded etcd, because its address is part of the storage configuration.
// Call Shutdown when the server is done.
func (o *Options) Complete(ctx context.Context) error {
	if err := o.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	if o.Standalone {
		// Nothing to delegate to: the kube-apiserver is not there.
		o.RecommendedOptions.Authentication = nil
		o.RecommendedOptions.Authorization = nil
		o.RecommendedOptions.CoreAPI = nil
		o.RecommendedOptions.Admission = nil
		o.RecommendedOptions.Features.EnablePriorityAndFairness = false
		// Standalone has no real authentication, so it only ever listens on loopback.
		if ss := o.RecommendedOptions.SecureServing; ss.BindAddress == nil || ss.BindAddress.IsUnspecified() {
			ss.BindAddress = netutils.ParseIPSloppy("127.0.0.1")
		}
		if o.StandaloneKubeconfig == "" {
			o.StandaloneKubeconfig = filepath.Join(filepath.Dir(filepath.Clean(o.EtcdDataDir)), "kubeconfig")
		}
	}
	if len(o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList) == 0 {
		if o.EtcdDataDir == "" {
			return errors.New("either --etcd-servers or --etcd-data-dir must be set")
		}
		srv, err := embeddedetcd.Start(ctx, o.EtcdDataDir)
		if err != nil {
			return err
		}
		o.embeddedEtcd = srv
		o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList = []string{srv.ClientURL}
	}
	return nil
}

// Validate checks the completed options.
func (o *Options) Validate() error {
	var errs []error
	errs = append(errs, o.RecommendedOptions.Validate()...)
	errs = append(errs, o.ComponentGlobalsRegistry.Validate()...)
	if o.MinSyncInterval < 0 {
		errs = append(errs, errors.New("--min-sync-interval must not be negative"))
	}
	if o.MinScheduleInterval < time.Second {
		errs = append(errs, errors.New("--min-schedule-interval must be at least 1s"))
	}
	if o.Standalone && o.StandaloneKubeconfig == "" {
		errs = append(errs, errors.New("--standalone needs --standalone-kubeconfig"))
	}
	return utilerrors.NewAggregate(errs)
}

// Config turns the options into a server configuration.
func (o *Options) Config() (*apiserver.Config, error) {
	if err := o.RecommendedOptions.SecureServing.MaybeDefaultWithSelfSignedCerts(
		"localhost", o.AlternateDNS, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating self-signed certificates: %w", err)
	}

	cfg := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	namer := openapi.NewDefinitionNamer(apiserver.Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title = "Portager"
	cfg.OpenAPIConfig.Info.Version = "v1alpha1"
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title = "Portager"
	cfg.OpenAPIV3Config.Info.Version = "v1alpha1"

	cfg.FeatureGate = o.ComponentGlobalsRegistry.FeatureGateFor(basecompatibility.DefaultKubeComponent)
	cfg.EffectiveVersion = o.ComponentGlobalsRegistry.EffectiveVersionFor(basecompatibility.DefaultKubeComponent)

	if err := o.RecommendedOptions.ApplyTo(cfg); err != nil {
		return nil, err
	}
	if o.Standalone {
		if err := o.applyStandalone(cfg); err != nil {
			return nil, err
		}
	}
	return &apiserver.Config{GenericConfig: cfg, ExtraConfig: apiserver.ExtraConfig{
		ImageSync: imagesyncstorage.Options{
			AllowCrossNamespaceSecretRefs: o.AllowCrossNamespaceSecretRefs,
			MinSyncInterval:               o.MinSyncInterval,
			Validation:                    validation.Options{MinScheduleInterval: o.MinScheduleInterval},
			SecretCheckTimeout:            o.SecretCheckTimeout,
		},
	}}, nil
}

// Run runs the server until ctx is cancelled.
func (o *Options) Run(ctx context.Context) error {
	defer o.Shutdown()
	cfg, err := o.Config()
	if err != nil {
		return err
	}
	srv, err := cfg.Complete().New()
	if err != nil {
		return err
	}
	return srv.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// Shutdown releases what Complete started. It is safe to call twice.
func (o *Options) Shutdown() {
	if o.embeddedEtcd != nil {
		o.embeddedEtcd.Close()
		o.embeddedEtcd = nil
	}
}

// NewCommand returns the cobra command that runs the server.
func NewCommand(ctx context.Context, o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "portager-apiserver",
		Short: "Serve the portager.portager.io API (ImageSync) as an aggregated API server",
		Long: `portager-apiserver serves ImageSync (portager.portager.io/v1alpha1) behind the
Kubernetes aggregation layer, storing objects in its own etcd: an embedded one in
--etcd-data-dir by default, or the cluster given by --etcd-servers.`,
		SilenceUsage: true,
		Version:      version.Get().String(),
		// A stray argument ("portager-apiserver version") is a mistake, not
		// a request to start a server with an embedded etcd in the working
		// directory.
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(c.Context()); err != nil {
				o.Shutdown()
				return err
			}
			if err := o.Validate(); err != nil {
				o.Shutdown()
				return err
			}
			klog.FromContext(c.Context()).Info("Starting portager-apiserver", "standalone", o.Standalone)
			return o.Run(c.Context())
		},
	}
	cmd.SetContext(ctx)
	o.AddFlags(cmd.Flags())
	return cmd
}
