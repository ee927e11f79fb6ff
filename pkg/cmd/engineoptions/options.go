package engineoptions

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/portager/portager/pkg/syncer"
)

// Options are the engine's flags.
type Options struct {
	// InsecureRegistries are spoken to over plain HTTP; every other
	// registry needs verified TLS.
	InsecureRegistries []string
	// RegistryCAFiles are PEM files of CAs trusted besides the system's.
	RegistryCAFiles []string

	TagConcurrency      int
	CheckConcurrency    int
	BlobConcurrency     int
	RegistryConcurrency int

	RegistryTimeout time.Duration
	// MinTransferRate is a quantity of bytes per second ("1Mi").
	MinTransferRate  string
	BreakerThreshold int
	BreakerCooldown  time.Duration

	MaxListedTags int
	// ReadMemory is a quantity ("64Mi").
	ReadMemory string
}

// NewOptions returns the engine's defaults.
func NewOptions() *Options {
	d := syncer.DefaultOptions()
	return &Options{
		TagConcurrency:      d.TagConcurrency,
		CheckConcurrency:    d.CheckConcurrency,
		BlobConcurrency:     d.BlobConcurrency,
		RegistryConcurrency: d.PerRegistryConcurrency,
		RegistryTimeout:     d.OperationTimeout,
		MinTransferRate:     resource.NewQuantity(d.MinTransferRate, resource.BinarySI).String(),
		BreakerThreshold:    d.BreakerThreshold,
		BreakerCooldown:     d.BreakerCooldown,
		MaxListedTags:       d.MaxListedTags,
		ReadMemory:          resource.NewQuantity(d.ReadMemory, resource.BinarySI).String(),
	}
}

// AddFlags adds the engine's flags to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.InsecureRegistries, "insecure-registry", o.InsecureRegistries, "HOST[:PORT] of a registry spoken to over plain HTTP. Repeatable. Every other registry needs verified TLS.")
	fs.StringArrayVar(&o.RegistryCAFiles, "registry-ca-file", o.RegistryCAFiles, "PEM file of CA certificates trusted for registries besides the system roots. Repeatable.")
	fs.IntVar(&o.TagConcurrency, "tag-concurrency", o.TagConcurrency, "Tags copied at once within one ImageSync.")
	fs.IntVar(&o.CheckConcurrency, "check-concurrency", o.CheckConcurrency, "Tags checked at once within one ImageSync: resolved to a digest on both sides and passed through the verification gates. Their requests still wait for --registry-concurrency.")
	fs.IntVar(&o.BlobConcurrency, "blob-concurrency", o.BlobConcurrency, "Blobs copied at once per image.")
	fs.IntVar(&o.RegistryConcurrency, "registry-concurrency", o.RegistryConcurrency, "In-flight requests per registry host, shared fairly by the runs that wait for them.")
	fs.DurationVar(&o.RegistryTimeout, "registry-timeout", o.RegistryTimeout, "Deadline of one registry request, its response and body (a blob gets longer in proportion to its size), and the longest a transfer may stall.")
	fs.StringVar(&o.MinTransferRate, "min-transfer-rate", o.MinTransferRate, "Slowest average rate, in bytes per second (a quantity such as 512Ki), at which a blob still arrives in time: a blob request's deadline is --registry-timeout plus its size at this rate, and a body moving slower than an eighth of it for a whole --registry-timeout is cut off as stalled.")
	fs.IntVar(&o.BreakerThreshold, "breaker-threshold", o.BreakerThreshold, "Requests in a row a registry host may answer with server errors before requests to it pause for --breaker-cooldown; its tags then fail at once as Transient. Negative disables.")
	fs.DurationVar(&o.BreakerCooldown, "breaker-cooldown", o.BreakerCooldown, "How long requests to a failing registry host pause before one request probes it again.")
	fs.IntVar(&o.MaxListedTags, "max-listed-tags", o.MaxListedTags, "Most tags a repository's tag list may hold; a longer one fails the image as TagListTooLarge.")
	fs.StringVar(&o.ReadMemory, "read-memory", o.ReadMemory, "Memory that manifests and verification documents being read may hold at once, across all runs (a quantity such as 64Mi); also the largest one read.")
}

// Validate checks the flags.
func (o *Options) Validate() []error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"tag-concurrency", o.TagConcurrency}, {"check-concurrency", o.CheckConcurrency}, {"blob-concurrency", o.BlobConcurrency},
		{"registry-concurrency", o.RegistryConcurrency}, {"max-listed-tags", o.MaxListedTags}} {
		if f.v < 1 {
			errs = append(errs, fmt.Errorf("--%s must be at least 1", f.name))
		}
	}
	if o.RegistryTimeout <= 0 {
		errs = append(errs, errors.New("--registry-timeout must be positive"))
	}
	if o.BreakerCooldown <= 0 {
		errs = append(errs, errors.New("--breaker-cooldown must be positive"))
	}
	if _, err := o.readMemory(); err != nil {
		errs = append(errs, err)
	}
	if _, err := o.minTransferRate(); err != nil {
		errs = append(errs, err)
	}
	for _, f := range o.RegistryCAFiles {
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("--registry-ca-file: %w", err))
		}
	}
	return errs
}

// readMemory parses --read-memory: at least the largest manifest, so that
// every valid manifest can be read.
func (o *Options) readMemory() (int64, error) {
	q, err := resource.ParseQuantity(o.ReadMemory)
	if err != nil {
		return 0, fmt.Errorf("--read-memory: %w", err)
	}
	if q.Value() < 4<<20 {
		return 0, fmt.Errorf("--read-memory must be at least 4Mi, the largest manifest")
	}
	return q.Value(), nil
}

// minTransferRate parses --min-transfer-rate.
func (o *Options) minTransferRate() (int64, error) {
	q, err := resource.ParseQuantity(o.MinTransferRate)
	if err != nil {
		return 0, fmt.Errorf("--min-transfer-rate: %w", err)
	}
	if q.Value() < 1 {
		return 0, errors.New("--min-transfer-rate must be at least 1 byte per second")
	}
	return q.Value(), nil
}

// ToEngine returns the engine's options for the flags. Call Validate first.
func (o *Options) ToEngine() (syncer.Options, error) {
	readMemory, err := o.readMemory()
	if err != nil {
		return syncer.Options{}, err
	}
	minRate, err := o.minTransferRate()
	if err != nil {
		return syncer.Options{}, err
	}
	opts := syncer.Options{
		RegistryOptions: syncer.RegistryOptions{
			InsecureHosts:          o.InsecureRegistries,
			PerRegistryConcurrency: o.RegistryConcurrency,
			OperationTimeout:       o.RegistryTimeout,
			MinTransferRate:        minRate,
			BreakerThreshold:       o.BreakerThreshold,
			BreakerCooldown:        o.BreakerCooldown,
			MaxListedTags:          o.MaxListedTags,
			ReadMemory:             readMemory,
		},
		TagConcurrency:   o.TagConcurrency,
		CheckConcurrency: o.CheckConcurrency,
		BlobConcurrency:  o.BlobConcurrency,
	}
	if len(o.RegistryCAFiles) > 0 {
		if opts.RootCAs, err = syncer.LoadRootCAs(o.RegistryCAFiles); err != nil {
			return opts, fmt.Errorf("--registry-ca-file: %w", err)
		}
	}
	return opts, nil
}
