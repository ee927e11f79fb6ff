package metricsserving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	genericapifilters "k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
)

// Options are the flags of the metrics endpoint.
type Options struct {
	// SecureServing is where and with which certificate the endpoint
	// listens. Without a certificate it makes a self-signed one in memory.
	SecureServing *genericoptions.SecureServingOptions
	// DeprecatedBindAddress is the old --metrics-bind-address (host:port),
	// which now sets where the HTTPS endpoint listens.
	DeprecatedBindAddress string
	// CacheTTL is how long a TokenReview or SubjectAccessReview answer is
	// reused.
	CacheTTL time.Duration
}

// NewOptions returns the defaults: port 8443 on every address.
func NewOptions(pairName string) *Options {
	s := genericoptions.NewSecureServingOptions()
	s.BindPort = 8443
	s.ServerCert.PairName = pairName
	return &Options{SecureServing: s, CacheTTL: 10 * time.Second}
}

// AddFlags adds the flags to fs: the secure-serving flags Kubernetes
// components share (--bind-address, --secure-port, --cert-dir,
// --tls-cert-file, ...) and the deprecated --metrics-bind-address.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.SecureServing.AddFlags(fs)
	fs.StringVar(&o.DeprecatedBindAddress, "metrics-bind-address", o.DeprecatedBindAddress, "host:port of /metrics, /healthz and /readyz.")
	_ = fs.MarkDeprecated("metrics-bind-address", "use --bind-address and --secure-port; the endpoint is HTTPS and /metrics needs an authorized token")
}

// Complete applies the deprecated address.
func (o *Options) Complete() error {
	if o.DeprecatedBindAddress == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(o.DeprecatedBindAddress)
	if err != nil {
		return fmt.Errorf("--metrics-bind-address: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("--metrics-bind-address: port %q: %w", port, err)
	}
	o.SecureServing.BindPort = p
	if host != "" {
		if o.SecureServing.BindAddress = net.ParseIP(host); o.SecureServing.BindAddress == nil {
			return fmt.Errorf("--metrics-bind-address: %q is not an IP address", host)
		}
	}
	o.DeprecatedBindAddress = ""
	return nil
}

// Validate checks the flags.
func (o *Options) Validate() []error {
	errs := o.SecureServing.Validate()
	if o.SecureServing.BindPort == 0 && o.SecureServing.Listener == nil {
		errs = append(errs, errors.New("--secure-port must not be 0: the metrics and health endpoints are needed"))
	}
	return errs
}

// Serve serves metrics, with kube checking callers' tokens and access,
// and health answering "ok", until ctx ends. It returns once listening.
func (o *Options) Serve(ctx context.Context, kube kubernetes.Interface, metrics http.Handler) error {
	if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, nil); err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	var serving *server.SecureServingInfo
	if err := o.SecureServing.ApplyTo(&serving); err != nil {
		return fmt.Errorf("secure serving: %w", err)
	}
	if serving == nil {
		return errors.New("metrics: no port to listen on (--secure-port is 0)")
	}
	handler, err := o.handler(kube, metrics)
	if err != nil {
		return err
	}
	_, _, err = serving.Serve(handler, 5*time.Second, ctx.Done())
	if err != nil {
		return fmt.Errorf("serving metrics: %w", err)
	}
	klog.FromContext(ctx).Info("Serving metrics", "address", serving.Listener.Addr().String())
	return nil
}

// Addr is where Serve listens, once it does.
func (o *Options) Addr() net.Addr {
	if o.SecureServing.Listener == nil {
		return nil
	}
	return o.SecureServing.Listener.Addr()
}

// handler is the endpoint's handler: health open, /metrics behind
// authentication and authorization, nothing else.
func (o *Options) handler(kube kubernetes.Interface, metrics http.Handler) (http.Handler, error) {
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		TokenAccessReviewClient:  kube.AuthenticationV1(),
		TokenAccessReviewTimeout: 10 * time.Second,
		WebhookRetryBackoff:      &backoff,
		CacheTTL:                 o.CacheTTL,
	}.New()
	if err != nil {
		return nil, fmt.Errorf("delegated authentication: %w", err)
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: kube.AuthorizationV1(),
		AllowCacheTTL:             o.CacheTTL,
		DenyCacheTTL:              o.CacheTTL,
		WebhookRetryBackoff:       &backoff,
	}.New()
	if err != nil {
		return nil, fmt.Errorf("delegated authorization: %w", err)
	}
	codecs := kubescheme.Codecs
	protected := http.NewServeMux()
	protected.Handle("/metrics", metrics)
	var guarded http.Handler = protected
	guarded = genericapifilters.WithAuthorization(guarded, authz, codecs)
	guarded = genericapifilters.WithAuthentication(guarded, authn, genericapifilters.Unauthorized(codecs), nil, nil)
	guarded = genericapifilters.WithRequestInfo(guarded, &request.RequestInfoFactory{
		APIPrefixes: sets.NewString("api", "apis"), GrouplessAPIPrefixes: sets.NewString("api"),
	})

	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/readyz", ok)
	mux.HandleFunc("/livez", ok)
	mux.Handle("/", guarded)
	return mux, nil
}
