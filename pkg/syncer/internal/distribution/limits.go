package distribution

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/portager/portager/internal/jsonstream"
)

// What a registry sends is bounded before it is held in memory, so a run's
// memory follows the engine's configuration, not the registry's answers.
const (
	// MaxManifestSize bounds one manifest: distribution's own limit, and
	// the OCI spec's recommendation.
	MaxManifestSize = 4 << 20
	// maxIndexChildren bounds the manifests of one index: an index lists
	// a few platforms, and a multi-arch image with attestations some tens.
	maxIndexChildren = 1024
)

// Reasons of responses larger than the engine accepts.
const (
	ReasonTagListTooLarge  = "TagListTooLarge"
	ReasonManifestTooLarge = "ManifestTooLarge"
	ReasonBlobTooLarge     = "BlobTooLarge"
)

// ErrTooLarge matches (errors.Is) every response the engine refused for
// its size.
var ErrTooLarge = errors.New("response too large")

// LimitError is a registry response (or content) beyond one of the
// engine's bounds; Reason is what it classifies as. Asking again gets the
// same answer, so it is not transient.
type LimitError struct {
	Reason string
	What   string
}

func (e *LimitError) Error() string        { return e.What }
func (e *LimitError) Is(target error) bool { return target == ErrTooLarge }

// ParseIndex parses an index manifest and enforces maxIndexChildren.
func ParseIndex(d v1.Hash, raw []byte) (*v1.IndexManifest, error) {
	var idx *v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil || idx == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, fmt.Errorf("parsing index %s: %w", d, err)
	}
	if len(idx.Manifests) > maxIndexChildren {
		return nil, &LimitError{Reason: ReasonManifestTooLarge, What: fmt.Sprintf("index %s lists %d manifests; at most %d are copied", d, len(idx.Manifests), maxIndexChildren)}
	}
	return idx, nil
}

// readBounded reads a body of at most max bytes; a longer one is a
// LimitError with reason, and nothing beyond max+1 bytes is read. The body
// is read in chunks and joined once it is known to fit, so refusing a body
// costs at most max bytes, not the twice that a growing buffer would.
func readBounded(body io.Reader, max int64, reason, what string) ([]byte, error) {
	const chunk = 64 << 10
	var chunks [][]byte
	var n int64
	for {
		c := make([]byte, min(chunk, max+1-n))
		m, err := io.ReadFull(body, c)
		chunks = append(chunks, c[:m])
		n += int64(m)
		if n > max {
			return nil, &LimitError{Reason: reason, What: fmt.Sprintf("%s: larger than %d bytes", what, max)}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	return bytes.Join(chunks, nil), nil
}

// readResponse reads resp's body, at most max bytes, holding its share of
// Config.ReadMemory while it does: the declared length, or max when the
// response declares none. A response declaring more than max fails before
// anything is read.
func (c *Client) readResponse(ctx context.Context, resp *http.Response, max int64, reason, what string) ([]byte, error) {
	var data []byte
	err := c.readResponseThen(ctx, resp, max, reason, what, func(b []byte) error {
		data = b
		return nil
	})
	return data, err
}

// readResponseThen is readResponse that keeps the share of ReadMemory until
// use, which gets the body, returns: a document parsed by use counts
// against ReadMemory while it is parsed, not only while it is read.
func (c *Client) readResponseThen(ctx context.Context, resp *http.Response, max int64, reason, what string, use func([]byte) error) error {
	max = min(max, c.cfg.ReadMemory)
	share := max + 1
	if resp.ContentLength >= 0 && resp.ContentLength <= max {
		share = resp.ContentLength + 1
	}
	if err := c.reading.Acquire(ctx, share); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer c.reading.Release(share)
	data, err := readBoundedSized(resp.Body, resp.ContentLength, max, reason, what)
	if err != nil {
		return err
	}
	return use(data)
}

// readBoundedSized is readBounded for a body whose length the response
// declared (-1 when it did not): a declared length beyond max fails before
// anything is read, and a body is read into one buffer of its declared
// length rather than a growing one.
func readBoundedSized(body io.Reader, length, max int64, reason, what string) ([]byte, error) {
	if length > max {
		return nil, &LimitError{Reason: reason, What: fmt.Sprintf("%s: larger than %d bytes", what, max)}
	}
	if length < 0 {
		return readBounded(body, max, reason, what)
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, fmt.Errorf("%s: shorter than the %d bytes the response declared: %w", what, length, err)
	}
	if n, _ := body.Read(make([]byte, 1)); n > 0 {
		return nil, fmt.Errorf("%s: longer than the %d bytes the response declared", what, length)
	}
	return buf, nil
}

// decodeTags reads a tag list page ({"name": ..., "tags": [...]}) as a
// stream, appending its tags to tags. It stops with a LimitError once tags
// would hold more than max entries, so a page of millions of tags costs no
// more memory than max of them. Other fields are skipped unread; "tags":
// null, as some registries send for none, is no tags.
func decodeTags(r io.Reader, tags []string, max int, repo string) ([]string, error) {
	dec := json.NewDecoder(r)
	err := jsonstream.Object(dec, func(key string) error {
		if key != "tags" {
			return jsonstream.Skip(dec)
		}
		return jsonstream.Array(dec, func() error {
			tag, ok, err := jsonstream.String(dec)
			switch {
			case err != nil:
				return err
			case !ok:
				return errors.New("a tag is not a string")
			case len(tags) >= max:
				return &LimitError{Reason: ReasonTagListTooLarge, What: fmt.Sprintf("list tags %s: more than %d tags", repo, max)}
			}
			tags = append(tags, tag)
			return nil
		})
	})
	return tags, err
}
