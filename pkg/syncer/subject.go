package syncer

import (
	"bytes"
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/portager/portager/pkg/syncer/internal/distribution"
)

// Subject is the source image a Gate decides on. Its methods read the
// source repository through the run's own client, so a gate uses the source
// side's credentials, request limits, retries and redaction, and everything
// it reads is checked against the digest that named it.
type Subject struct {
	// Digest names the resolved image: exactly what is copied if the gate
	// passes.
	Digest name.Digest
	// Descriptor is the image's manifest descriptor (media type, size).
	Descriptor v1.Descriptor

	r   *run
	src *distribution.Repository
}

// Image is the subject's manifest descriptor.
func (s *Subject) Image() v1.Descriptor { return s.Descriptor }

// Manifest returns a manifest of the subject's repository by digest.
func (s *Subject) Manifest(ctx context.Context, d v1.Hash) ([]byte, types.MediaType, error) {
	m, err := s.r.fetchManifest(ctx, s.src, d)
	if err != nil {
		return nil, "", err
	}
	return m.raw, m.mt, nil
}

// TaggedManifest returns the manifest under tag in the subject's repository,
// such as cosign's sha256-<hex>.sig, and its digest. found is false when
// there is none.
func (s *Subject) TaggedManifest(ctx context.Context, tag string) (raw []byte, digest v1.Hash, found bool, err error) {
	if !s.src.MayHaveTag(tag) {
		return nil, v1.Hash{}, false, nil // not in the tag list read this run
	}
	raw, mt, found, err := s.src.GetManifestIfFound(ctx, tag)
	if err != nil || !found {
		return nil, v1.Hash{}, false, err
	}
	if mt.IsSchema1() {
		return nil, v1.Hash{}, false, &distribution.UnsupportedError{MediaType: string(mt)}
	}
	digest, _, _ = v1.SHA256(bytes.NewReader(raw))
	return raw, digest, true, nil
}

// Referrers lists the OCI 1.1 referrers of d in the subject's repository,
// through the referrers API or, where the registry has none, its fallback
// tag.
func (s *Subject) Referrers(ctx context.Context, d v1.Hash) ([]v1.Descriptor, error) {
	return s.src.Referrers(ctx, d)
}

// Blob reads a blob of at most max bytes and checks it against d. Gates
// read small documents (signature payloads), so a larger blob is an error
// (errors.Is ErrTooLarge) rather than something to stream. Reads in flight
// across all runs hold at most Options.ReadMemory bytes; a read waits for
// its share. The returned bytes no longer count against it: use ReadBlob
// for a document of more than a few KiB.
func (s *Subject) Blob(ctx context.Context, d v1.Hash, max int64) ([]byte, error) {
	var data []byte
	err := s.ReadBlob(ctx, d, max, func(b []byte) error {
		data = b
		return nil
	})
	return data, err
}

// ReadBlob is Blob for a larger document (an SBOM, a vulnerability report):
// the blob, checked against d, is passed to parse, and its bytes count
// against Options.ReadMemory until parse returns. parse must not keep data,
// and should keep no more than a bounded summary of it, so that the gates'
// memory is bounded by configuration. parse's error is returned as it is.
func (s *Subject) ReadBlob(ctx context.Context, d v1.Hash, max int64, parse func(data []byte) error) error {
	return s.src.ReadBlob(ctx, d, max, parse)
}
