package gate

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portager/portager/pkg/digestname"
	"github.com/portager/portager/pkg/syncer"
)

// memSource is a Source held in memory: gate verdicts checked without an
// engine or a registry. It answers only what it holds and counts what it
// was asked.
type memSource struct {
	image     v1.Descriptor
	manifests map[v1.Hash][]byte
	tagged    map[string][]byte
	referrers map[v1.Hash][]v1.Descriptor
	readErr   error // every read fails with it when set
	reads     int
}

var _ Source = (*memSource)(nil)

func (m *memSource) Image() v1.Descriptor { return m.image }

func (m *memSource) Manifest(_ context.Context, d v1.Hash) ([]byte, types.MediaType, error) {
	m.reads++
	if m.readErr != nil {
		return nil, "", m.readErr
	}
	raw, ok := m.manifests[d]
	if !ok {
		return nil, "", errors.New("manifest unknown")
	}
	return raw, types.OCIManifestSchema1, nil
}

func (m *memSource) TaggedManifest(_ context.Context, tag string) ([]byte, v1.Hash, bool, error) {
	m.reads++
	if m.readErr != nil {
		return nil, v1.Hash{}, false, m.readErr
	}
	raw, ok := m.tagged[tag]
	if !ok {
		return nil, v1.Hash{}, false, nil
	}
	return raw, v1.Hash{}, true, nil
}

func (m *memSource) Referrers(_ context.Context, d v1.Hash) ([]v1.Descriptor, error) {
	m.reads++
	if m.readErr != nil {
		return nil, m.readErr
	}
	return append([]v1.Descriptor(nil), m.referrers[d]...), nil
}

func (m *memSource) Blob(_ context.Context, _ v1.Hash, _ int64) ([]byte, error) {
	m.reads++
	return nil, errors.New("no blobs held")
}

func (m *memSource) ReadBlob(ctx context.Context, d v1.Hash, max int64, _ func([]byte) error) error {
	_, err := m.Blob(ctx, d, max)
	return err
}

func hashOf(s string) v1.Hash {
	h, _, _ := v1.SHA256(strings.NewReader(s))
	return h
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestSBOMVerdicts checks the SBOM gate's verdict for each way an SBOM is
// attached or missing, on a Source with no registry behind it.
func TestSBOMVerdicts(t *testing.T) {
	t.Parallel()
	image := hashOf("image")
	index := hashOf("index")
	child1, child2 := hashOf("child-1"), hashOf("child-2")
	spdxReferrer := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: hashOf("sbom"), ArtifactType: "application/spdx+json"}
	indexRaw := func(t *testing.T) []byte {
		return mustJSON(t, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{
			{MediaType: types.OCIManifestSchema1, Digest: child1}, {MediaType: types.OCIManifestSchema1, Digest: child2}}})
	}
	cosignSBOM := func(t *testing.T) []byte {
		return mustJSON(t, v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
			Config: v1.Descriptor{MediaType: emptyConfigType, Digest: hashOf("{}"), Size: 2}, Layers: []v1.Descriptor{{MediaType: "text/spdx+json", Digest: hashOf("spdx")}}})
	}
	for _, tc := range []struct {
		name    string
		source  func(t *testing.T) *memSource
		verdict string // "" passes; else the rejection's message contains it
		readErr bool   // the source could not be read: an error, no verdict
	}{
		{"an SPDX referrer", func(*testing.T) *memSource {
			return &memSource{image: v1.Descriptor{Digest: image, MediaType: types.OCIManifestSchema1},
				referrers: map[v1.Hash][]v1.Descriptor{image: {spdxReferrer}}}
		}, "", false},
		{"cosign's .sbom tag", func(t *testing.T) *memSource {
			return &memSource{image: v1.Descriptor{Digest: image, MediaType: types.OCIManifestSchema1},
				tagged: map[string][]byte{digestname.CosignTag(image, digestname.SBOMSuffix): cosignSBOM(t)}}
		}, "", false},
		{"nothing attached", func(*testing.T) *memSource {
			return &memSource{image: v1.Descriptor{Digest: image, MediaType: types.OCIManifestSchema1}}
		}, "sbom: no SPDX or CycloneDX SBOM attached", false},
		{"an index whose second platform has none", func(t *testing.T) *memSource {
			return &memSource{image: v1.Descriptor{Digest: index, MediaType: types.OCIImageIndex},
				manifests: map[v1.Hash][]byte{index: indexRaw(t)},
				referrers: map[v1.Hash][]v1.Descriptor{child1: {spdxReferrer}}}
		}, "platform image " + digestname.Short(child2.String()), false},
		{"an index whose platforms all have one", func(t *testing.T) *memSource {
			return &memSource{image: v1.Descriptor{Digest: index, MediaType: types.OCIImageIndex},
				manifests: map[v1.Hash][]byte{index: indexRaw(t)},
				referrers: map[v1.Hash][]v1.Descriptor{child1: {spdxReferrer}, child2: {spdxReferrer}}}
		}, "", false},
		{"a source that cannot be read", func(*testing.T) *memSource {
			return &memSource{image: v1.Descriptor{Digest: image, MediaType: types.OCIManifestSchema1}, readErr: errors.New("503 from the source")}
		}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(Policy{RequireSBOM: true})
			if err != nil {
				t.Fatal(err)
			}
			src := tc.source(t)
			err = g(context.Background(), src)
			switch {
			case tc.readErr:
				if err == nil || syncer.IsRejected(err) || !strings.Contains(err.Error(), "503 from the source") {
					t.Errorf("err = %v, want the read failure, not a verdict", err)
				}
			case tc.verdict == "":
				if err != nil {
					t.Errorf("err = %v, want a pass", err)
				}
			default:
				if !syncer.IsRejected(err) || !strings.Contains(err.Error(), tc.verdict) {
					t.Errorf("err = %v, want a rejection with %q", err, tc.verdict)
				}
			}
			if src.reads == 0 {
				t.Error("the gate read nothing from its source")
			}
		})
	}
}
