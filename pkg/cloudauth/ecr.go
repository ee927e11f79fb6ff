package cloudauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/sync/singleflight"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/registryhost"
)

const (
	// ecrTokenMargin: a cached token is renewed this long before it
	// expires (ECR tokens last 12 hours), so no run starts with a token
	// that lapses half-way.
	ecrTokenMargin = time.Hour
	// ecrEnsuredFor: a repository created or found is not asked about
	// again for this long, so a scheduled ImageSync costs no ECR API call
	// per run; a repository deleted behind our back comes back within it.
	ecrEnsuredFor = time.Hour
	// ecrCallTimeout bounds each ECR API call, credential exchange included.
	ecrCallTimeout = 30 * time.Second
)

// ECR issues pull and push credentials for Amazon ECR registries and creates their
// repositories, as the controller's own AWS identity. The zero value is not
// usable; use NewECR. It is safe for concurrent use.
type ECR struct {
	// Aliases maps registry hosts that do not name an ECR registry
	// themselves (a test's loopback registry, a private DNS name) to the
	// registry they are. Set it before first use; empty in production.
	Aliases map[string]registryhost.ECR

	now     func() time.Time
	flights singleflight.Group

	mu      sync.Mutex
	clients map[string]*ecr.Client // by region and endpoint variant
	tokens  map[string]ecrToken    // by host
	ensured map[string]time.Time   // "host/repository" -> when found or created
}

type ecrToken struct {
	cfg     authn.AuthConfig
	expires time.Time
}

// NewECR returns an ECR provider. No AWS call is made until a token or a
// repository is needed.
func NewECR() *ECR {
	return &ECR{
		now:     time.Now,
		clients: map[string]*ecr.Client{},
		tokens:  map[string]ecrToken{},
		ensured: map[string]time.Time{},
	}
}

// registry returns the ECR registry that host names, or an error a tenant
// may read when host names none.
func (p *ECR) registry(host string) (registryhost.ECR, error) {
	host = strings.ToLower(host)
	if r, ok := p.Aliases[host]; ok {
		return r, nil
	}
	if r, ok := registryhost.ParseECR(host); ok {
		return r, nil
	}
	return registryhost.ECR{}, &Error{msg: fmt.Sprintf("%s is not an Amazon ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com); method \"ecr\" sends the controller's ECR credentials to ECR only", host)}
}

// client returns the ECR API client for r's region and endpoint variant.
// Credentials come from the SDK's default chain, resolved (and refreshed)
// at call time.
func (p *ECR) client(ctx context.Context, r registryhost.ECR) (*ecr.Client, error) {
	key := fmt.Sprintf("%s/fips=%t/dualstack=%t", r.Region, r.FIPS, r.DualStack)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[key]; ok {
		return c, nil
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(r.Region)}
	if r.FIPS {
		opts = append(opts, config.WithUseFIPSEndpoint(aws.FIPSEndpointStateEnabled))
	}
	if r.DualStack {
		opts = append(opts, config.WithUseDualStackEndpoint(aws.DualStackEndpointStateEnabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &Error{msg: "loading the controller's AWS configuration failed", err: err}
	}
	c := ecr.NewFromConfig(cfg)
	p.clients[key] = c
	return c, nil
}

// Keychain returns credentials for the ECR registry at host,
// from a cached token or a new GetAuthorizationToken call, renewed on later
// resolutions once the token nears its expiry. It fails, with a message fit
// for status, when host is not ECR or no token can be had now.
func (p *ECR) Keychain(ctx context.Context, host string) (authn.Keychain, error) {
	host = strings.ToLower(host)
	r, err := p.registry(host)
	if err != nil {
		return nil, err
	}
	creds := func(ctx context.Context) (authn.AuthConfig, error) {
		t, err := p.token(ctx, host, r)
		return t.cfg, err
	}
	if _, err := creds(ctx); err != nil {
		return nil, err
	}
	return hostKeychain{host: host, creds: creds}, nil
}

// token returns the cached token for host, or fetches one (once for all
// concurrent callers) when there is none or it nears expiry.
func (p *ECR) token(ctx context.Context, host string, r registryhost.ECR) (ecrToken, error) {
	p.mu.Lock()
	t, ok := p.tokens[host]
	p.mu.Unlock()
	if ok && p.now().Before(t.expires.Add(-ecrTokenMargin)) {
		return t, nil
	}
	v, err, _ := p.flights.Do(host, func() (any, error) { return p.fetchToken(ctx, host, r) })
	if err != nil {
		return ecrToken{}, err
	}
	return v.(ecrToken), nil
}

func (p *ECR) fetchToken(ctx context.Context, host string, r registryhost.ECR) (ecrToken, error) {
	c, err := p.client(ctx, r)
	if err != nil {
		return ecrToken{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, ecrCallTimeout)
	defer cancel()
	out, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		klog.FromContext(ctx).V(2).Info("ECR GetAuthorizationToken failed", "host", host, "code", awsCode(err))
		return ecrToken{}, &Error{msg: fmt.Sprintf("getting an ECR token for %s failed: %s", host, awsCode(err)), err: err}
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return ecrToken{}, &Error{msg: fmt.Sprintf("getting an ECR token for %s failed: the answer held no token", host)}
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
	user, pass, found := strings.Cut(string(raw), ":")
	if err != nil || !found || pass == "" {
		return ecrToken{}, &Error{msg: fmt.Sprintf("getting an ECR token for %s failed: the token is not user:password", host)}
	}
	t := ecrToken{cfg: authn.AuthConfig{Username: user, Password: pass}, expires: p.now().Add(12 * time.Hour)}
	if d.ExpiresAt != nil {
		t.expires = *d.ExpiresAt
	}
	p.mu.Lock()
	p.tokens[host] = t
	p.mu.Unlock()
	return t, nil
}

// EnsureRepositories creates each of repos in the ECR registry at host
// unless it exists, with settings (nil: ECR's defaults), and returns the
// ones it created. A repository that exists is left as it is. Repositories
// found or created in the last hour are not asked about again. It stops at
// the first failure other than "already exists".
func (p *ECR) EnsureRepositories(ctx context.Context, host string, repos []string, settings *v1alpha1.ECRRepositorySettings) ([]string, error) {
	host = strings.ToLower(host)
	r, err := p.registry(host)
	if err != nil {
		return nil, err
	}
	var todo []string
	p.mu.Lock()
	for _, repo := range repos {
		if at, ok := p.ensured[host+"/"+repo]; !ok || p.now().Sub(at) >= ecrEnsuredFor {
			todo = append(todo, repo)
		}
	}
	p.mu.Unlock()
	if len(todo) == 0 {
		return nil, nil
	}
	c, err := p.client(ctx, r)
	if err != nil {
		return nil, err
	}
	var created []string
	for _, repo := range todo {
		cctx, cancel := context.WithTimeout(ctx, ecrCallTimeout)
		in := createRepositoryInput(settings)
		in.RepositoryName, in.RegistryId = aws.String(repo), aws.String(r.AccountID)
		_, err := c.CreateRepository(cctx, in)
		cancel()
		var exists *ecrtypes.RepositoryAlreadyExistsException
		switch {
		case err == nil:
			created = append(created, repo)
		case errors.As(err, &exists):
		default:
			klog.FromContext(ctx).V(2).Info("ECR CreateRepository failed", "host", host, "repository", repo, "code", awsCode(err))
			return created, &Error{msg: fmt.Sprintf("creating ECR repository %q failed: %s", repo, awsCode(err)), err: err}
		}
		p.mu.Lock()
		p.ensured[host+"/"+repo] = p.now()
		p.mu.Unlock()
	}
	return created, nil
}

// createRepositoryInput is a CreateRepository call with settings applied;
// what settings leave unset is left to ECR.
func createRepositoryInput(settings *v1alpha1.ECRRepositorySettings) *ecr.CreateRepositoryInput {
	in := &ecr.CreateRepositoryInput{}
	if settings == nil {
		return in
	}
	if m := settings.ImageTagMutability; m != "" {
		in.ImageTagMutability = ecrtypes.ImageTagMutability(m)
	}
	if settings.ScanOnPush {
		in.ImageScanningConfiguration = &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}
	}
	if e := settings.Encryption; e != nil {
		in.EncryptionConfiguration = &ecrtypes.EncryptionConfiguration{EncryptionType: ecrtypes.EncryptionTypeKms}
		if e.KMSKey != "" {
			in.EncryptionConfiguration.KmsKey = aws.String(e.KMSKey)
		}
	}
	// Sorted, so that every repository is created with the same call.
	for _, k := range slices.Sorted(maps.Keys(settings.Tags)) {
		in.Tags = append(in.Tags, ecrtypes.Tag{Key: aws.String(k), Value: aws.String(settings.Tags[k])})
	}
	return in
}
