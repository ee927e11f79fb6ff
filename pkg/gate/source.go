package gate

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portager/portager/pkg/syncer"
)

// Source is the image a gate decides on and the repository its
// attachments are read from. The engine hands gates a *syncer.Subject,
// which reads through the run's own source client; tests hand them a
// Source of their own, so that verdicts can be checked without an engine
// or a registry.
type Source interface {
	// Image is the descriptor of the image decided on: its digest, media
	// type and size.
	Image() v1.Descriptor
	// Manifest returns a manifest of the repository by digest.
	Manifest(ctx context.Context, d v1.Hash) ([]byte, types.MediaType, error)
	// TaggedManifest returns the manifest a tag of the repository names
	// (cosign's sha256-<hex>.sig, say) and its digest; found is false when
	// the tag does not exist.
	TaggedManifest(ctx context.Context, tag string) (raw []byte, digest v1.Hash, found bool, err error)
	// Referrers lists the OCI 1.1 referrers of d.
	Referrers(ctx context.Context, d v1.Hash) ([]v1.Descriptor, error)
	// Blob returns the blob d, at most max bytes of it, verified against d.
	Blob(ctx context.Context, d v1.Hash, max int64) ([]byte, error)
	// ReadBlob reads the blob d like Blob and hands it to parse, holding its
	// memory until parse returns.
	ReadBlob(ctx context.Context, d v1.Hash, max int64, parse func(data []byte) error) error
}

var _ Source = (*syncer.Subject)(nil)

// Func is a compiled gate policy: nil when the image passes, an error from
// syncer.Rejected naming every verdict when it does not, and any other
// error when the source could not be read.
type Func func(ctx context.Context, s Source) error

// Check runs f on the engine's subject; f.Check is what
// syncer.Request.Gate takes.
func (f Func) Check(ctx context.Context, s *syncer.Subject) error { return f(ctx, s) }
