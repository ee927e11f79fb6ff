package once

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/install"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/apis/portager/validation"
	"github.com/portager/portager/pkg/cloudauth"
	"github.com/portager/portager/pkg/cmd/engineoptions"
	"github.com/portager/portager/pkg/dockerconfig"
	"github.com/portager/portager/pkg/syncer"
	"github.com/portager/portager/pkg/syncplan"
)

// manifestScheme holds the same API group installation the API server uses
// (pkg/apiserver installs it the same way): decoding applies the v1alpha1
// defaults and converts to the internal type that validation checks. It is
// built here rather than imported from pkg/apiserver so that the binaries
// running once do not link the server and its storage.
var (
	manifestScheme = runtime.NewScheme()
	manifestCodecs = serializer.NewCodecFactory(manifestScheme)
)

func init() {
	install.Install(manifestScheme)
}

type options struct {
	file         string
	dockerConfig string
	sigstoreRoot string
	dryRun       bool
	output       string

	timeout time.Duration
	// engine holds the copy engine's flags, as the controller has them.
	engine *engineoptions.Options

	// cloud gives methods "ecr", "gar" and "acr" their credentials; nil is the
	// SDKs' default chains (tests set stand-ins).
	cloud *cloudauth.Providers
	// network, when set, resolves and dials for the engine (tests keep
	// their names and connections on loopback with it).
	network interface {
		syncer.Resolver
		Dial(ctx context.Context, network, addr string) (net.Conn, error)
	}
}

// errInvalidManifest and errTagsFailed make the command exit non-zero.
var (
	errInvalidManifest = errors.New("the manifest is invalid")
	errTagsFailed      = errors.New("some tags failed to sync")
)

// NewCommand returns the once command. parent is how users invoke the
// binary that mounts it ("portager", "kubectl imagesync"), for the examples
// in its help.
func NewCommand(parent string) *cobra.Command {
	return newCommand(parent, &options{})
}

func newCommand(parent string, oo *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "once -f MANIFEST",
		Short: "Run one sync of an ImageSync manifest locally, without a cluster",
		Long: `once reads an ImageSync manifest (YAML or JSON; "-" reads standard input),
validates it exactly as the Portager API server does, and copies its images
once from this machine with the same engine the controller uses. It prints a
result per tag and a summary, and exits non-zero if the manifest is invalid or
any tag failed.

No cluster is needed. Credentials come from a Docker config.json, by
default the one docker login writes ($DOCKER_CONFIG/config.json, else
~/.docker/config.json) or, without it, podman login's auth.json
($REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else
~/.config/containers/auth.json); or --docker-config. Its entries are
matched by registry host and serve both the source and the destination,
and the credential helpers it names (credHelpers, credsStore) are run as
docker runs them; without such a file both sides are anonymous. Secret
references in the manifest (spec.source.authSecretRef,
spec.destination.auth.secretRef) are ignored in this mode, as are
spec.schedule and spec.suspend. An auth method "anonymous" sends that side
no credentials; "ecr" and "gar" pull or push with this machine's own AWS
or Google credentials (the SDKs' default chains, as the controller uses its
workload identity), "acr" with the Azure Workload Identity its environment
names (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE), and
createDestinationRepos creates missing ECR repositories first. The
verification gates of spec.validation run as in the controller: a tag whose
source image fails one is not copied. Keyless cosign signatures are verified
against the Sigstore public-good trusted root built in, or the
trusted_root.json of --sigstore-trusted-root, certificate transparency
included: a signing certificate needs an SCT from a CT log of that root.

TLS is always verified. --registry-ca-file adds CAs to the system roots;
--insecure-registry makes one host[:port] use plain HTTP.

--dry-run resolves, verifies and compares every tag as a run does, and
prints which tags a run would copy (WouldCopy) without writing anything to
the destination: it only reads there, so read-only credentials suffice, and
it creates no ECR repository. It exits non-zero only if a tag failed.

  ` + parent + ` once -f base-images.yaml --docker-config ~/.docker/config.json
  ` + parent + ` once -f base-images.yaml --docker-config ~/.docker/config.json --dry-run
  cat sync.json | ` + parent + ` once -f - --insecure-registry localhost:5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return oo.run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&oo.file, "filename", "f", "", `ImageSync manifest to sync (YAML or JSON); "-" reads standard input.`)
	_ = cmd.MarkFlagRequired("filename")
	f.StringVar(&oo.dockerConfig, "docker-config", "", "Docker config.json with credentials for both registries (default: docker login's file, else podman login's, if there is one; otherwise anonymous).")
	f.StringVar(&oo.sigstoreRoot, "sigstore-trusted-root", "", "Sigstore trusted_root.json (Fulcio CAs, Rekor and CT log keys) for keyless cosign verification; it must list a CT log (default: the public-good root built in).")
	if oo.engine == nil {
		oo.engine = engineoptions.NewOptions()
	}
	oo.engine.AddFlags(f)
	f.DurationVar(&oo.timeout, "timeout", 0, "Give up after this long (0: no limit).")
	f.BoolVar(&oo.dryRun, "dry-run", false, "Report which tags a run would copy, and copy nothing.")
	f.StringVarP(&oo.output, "output", "o", outputTable, "Output format: "+strings.Join(outputFormats, ", ")+". json and yaml print one object: the summary counts and a result per tag.")
	return cmd
}

func (oo *options) run(ctx context.Context, stdin io.Reader, out, errOut io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if !slices.Contains(outputFormats, oo.output) {
		return fmt.Errorf("--output %q: want one of %s", oo.output, strings.Join(outputFormats, ", "))
	}
	spec, err := oo.loadManifest(stdin, errOut)
	if err != nil {
		return err
	}
	opts, err := oo.engineOptions()
	if err != nil {
		return err
	}
	kc, err := oo.keychain(ctx)
	if err != nil {
		return err
	}
	eng, err := syncer.New(opts)
	if err != nil {
		return err
	}
	if oo.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, oo.timeout)
		defer cancel()
	}
	cloud := oo.cloud
	if cloud == nil {
		p := cloudauth.NewProviders()
		cloud = &p
	}
	creds, err := syncplan.ResolveCredentials(ctx, spec, localAccess{login: kc, cloud: *cloud, sigstoreRoot: oo.sigstoreRoot})
	if err != nil {
		return err
	}
	req, err := syncplan.Request(spec, creds)
	if err != nil {
		return err
	}
	req.DryRun = oo.dryRun
	// The manifest is the user's own, run with the user's own access: its
	// registries are reached wherever they resolve, as the user's other
	// tools would. Hosts a registry names (redirects, token realms, upload
	// Locations) get the dial policy the controller applies.
	own := map[string]bool{
		syncer.RegistryHostport(spec.Source.Registry):      true,
		syncer.RegistryHostport(spec.Destination.Registry): true,
	}
	req.AllowInternal = func(hostport string) bool { return own[strings.ToLower(hostport)] }
	var ecr syncplan.RepositoryCreator
	if cloud.ECR != nil {
		ecr = cloud.ECR
	}
	created, err := syncplan.CreateRepositories(ctx, spec, req, ecr)
	for _, repo := range created {
		fmt.Fprintf(errOut, "created ECR repository %q\n", repo)
	}
	if err != nil {
		// As in the controller: the run goes on, and tags whose
		// repository is missing fail with their own reason.
		fmt.Fprintf(errOut, "warning: %v\n", err)
	}
	start := time.Now()
	results, err := eng.Sync(ctx, req)
	if err != nil {
		return err
	}
	rep := report{results: results, elapsed: time.Since(start), dryRun: oo.dryRun}
	if err := rep.print(out, oo.output); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	if rep.summary().Failed > 0 {
		return errTagsFailed
	}
	return nil
}

// loadManifest reads, decodes (with defaults) and validates the manifest
// and returns its spec in the versioned form syncplan takes.
func (oo *options) loadManifest(stdin io.Reader, errOut io.Writer) (*v1alpha1.ImageSyncSpec, error) {
	var data []byte
	var err error
	if oo.file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(oo.file)
	}
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	doc, err := singleDocument(data)
	if err != nil {
		return nil, err
	}
	obj, gvk, err := manifestCodecs.UniversalDecoder().Decode(doc, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding manifest: %w", err)
	}
	is, ok := obj.(*portager.ImageSync)
	if !ok {
		return nil, fmt.Errorf("the manifest is a %s, want an ImageSync (%s)", gvk.Kind, v1alpha1.SchemeGroupVersion)
	}
	if is.Namespace == "" {
		// kubectl would fill in the current namespace; it only matters
		// to metadata validation here.
		is.Namespace = "default"
	}
	if errs := validation.ValidateImageSync(is, validation.DefaultOptions()); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(errOut, "error: %s\n", e.Error())
		}
		return nil, errInvalidManifest
	}
	versioned := &v1alpha1.ImageSync{}
	if err := manifestScheme.Convert(is, versioned, nil); err != nil {
		return nil, fmt.Errorf("converting manifest: %w", err)
	}
	return &versioned.Spec, nil
}

// singleDocument returns the only non-empty document of a YAML or JSON
// stream.
func singleDocument(data []byte) ([]byte, error) {
	r := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var docs [][]byte
	for {
		var raw runtime.RawExtension
		if err := r.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("parsing manifest: %w", err)
		}
		if len(bytes.TrimSpace(raw.Raw)) == 0 || string(bytes.TrimSpace(raw.Raw)) == "null" {
			continue
		}
		docs = append(docs, raw.Raw)
	}
	switch len(docs) {
	case 0:
		return nil, errors.New("the manifest is empty")
	case 1:
		return docs[0], nil
	default:
		return nil, fmt.Errorf("the manifest holds %d documents; once syncs exactly one ImageSync", len(docs))
	}
}

// engineOptions maps the engine's flags to the engine.
func (oo *options) engineOptions() (syncer.Options, error) {
	if errs := oo.engine.Validate(); len(errs) > 0 {
		return syncer.Options{}, errors.Join(errs...)
	}
	opts, err := oo.engine.ToEngine()
	if err != nil {
		return opts, err
	}
	if oo.network != nil {
		opts.Resolver, opts.Dial = oo.network, oo.network.Dial
	}
	return opts, nil
}

// keychain loads the registry credentials both sides use: --docker-config,
// else the machine's docker or podman login (see dockerconfig), else none.
func (oo *options) keychain(ctx context.Context) (authn.Keychain, error) {
	if oo.dockerConfig != "" {
		kc, err := dockerconfig.Load(oo.dockerConfig)
		if err != nil {
			return nil, fmt.Errorf("--docker-config: %w", err)
		}
		return kc, nil
	}
	kc, path, err := dockerconfig.LoadDefault()
	if err != nil {
		return nil, fmt.Errorf("the registry login file: %w", err)
	}
	// Which file, never what is in it.
	klog.FromContext(ctx).V(1).Info("registry credentials", "file", path)
	return kc, nil
}
