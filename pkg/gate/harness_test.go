package gate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portager/portager/internal/cosigntest"
	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/digestname"
	"github.com/portager/portager/pkg/syncer"
)

// testRegistry is the shared test registry with the gate fixtures'
// builders: images, cosign-tagged and OCI 1.1 referrer artifacts, and
// fallback referrers indexes.
type testRegistry struct {
	*registrytest.Registry
	t *testing.T
}

func newTestRegistry(t *testing.T, referrersAPI bool) *testRegistry {
	t.Helper()
	var opts []registrytest.Option
	if referrersAPI {
		opts = append(opts, registrytest.WithReferrersAPI())
	}
	return &testRegistry{Registry: registrytest.New(t, opts...), t: t}
}

// failWhen answers the requests f matches with 503 from now on; nil
// stops that.
func (r *testRegistry) failWhen(f func(*http.Request) bool) {
	r.ClearFaults()
	if f == nil {
		return
	}
	r.AddFault(&registrytest.Fault{Match: f, Times: -1, Handle: func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"errors":[{"code":"UNAVAILABLE"}]}`, http.StatusServiceUnavailable)
	}})
}

// pushImage pushes a random image (or a two-platform index) under
// repo:tag and returns its descriptor and, for an index, its children.
func (r *testRegistry) pushImage(repo, tag string, index bool) (v1.Descriptor, []v1.Descriptor) {
	r.t.Helper()
	ref, err := name.ParseReference(r.Host + "/" + repo + ":" + tag)
	if err != nil {
		r.t.Fatal(err)
	}
	if index {
		idx, err := random.Index(256, 1, 2)
		if err != nil {
			r.t.Fatal(err)
		}
		if err := remote.WriteIndex(ref, idx); err != nil {
			r.t.Fatal(err)
		}
		im, _ := idx.IndexManifest()
		return descOf(r.t, idx), im.Manifests
	}
	img, err := random.Image(256, 1)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		r.t.Fatal(err)
	}
	return descOf(r.t, img), nil
}

type describable interface {
	Digest() (v1.Hash, error)
	MediaType() (types.MediaType, error)
	RawManifest() ([]byte, error)
}

func descOf(t *testing.T, x describable) v1.Descriptor {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := x.MediaType()
	raw, _ := x.RawManifest()
	return v1.Descriptor{Digest: d, MediaType: mt, Size: int64(len(raw))}
}

// layer is one blob of an artifact. A layer with a digest is only
// described (with size), not pushed: the test serves it itself.
type layer struct {
	mediaType   string
	data        []byte
	annotations map[string]string
	digest      v1.Hash
	size        int64
}

// artifact pushes an OCI image manifest holding layers, with artifactType
// and, when subject is set, a subject (an OCI 1.1 referrer). With tag it
// is pushed under that tag (cosign's tag scheme), else by digest. It
// returns the manifest's descriptor as a referrers index lists it.
func (r *testRegistry) artifact(repo, tag, artifactType string, subject *v1.Descriptor, annotations map[string]string, layers ...layer) v1.Descriptor {
	r.t.Helper()
	repoRef, err := name.NewRepository(r.Host + "/" + repo)
	if err != nil {
		r.t.Fatal(err)
	}
	empty := []byte("{}")
	cfg := static.NewLayer(empty, "application/vnd.oci.empty.v1+json")
	if err := remote.WriteLayer(repoRef, cfg); err != nil {
		r.t.Fatal(err)
	}
	cfgDigest, _ := cfg.Digest()
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIManifestSchema1,
		"config":        v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: cfgDigest, Size: int64(len(empty))},
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	if subject != nil {
		m["subject"] = subject
	}
	if annotations != nil {
		m["annotations"] = annotations
	}
	var descs []v1.Descriptor
	for _, l := range layers {
		if l.digest != (v1.Hash{}) {
			descs = append(descs, v1.Descriptor{MediaType: types.MediaType(l.mediaType), Digest: l.digest, Size: l.size})
			continue
		}
		sl := static.NewLayer(l.data, types.MediaType(l.mediaType))
		if err := remote.WriteLayer(repoRef, sl); err != nil {
			r.t.Fatal(err)
		}
		d, _ := sl.Digest()
		descs = append(descs, v1.Descriptor{MediaType: types.MediaType(l.mediaType), Digest: d, Size: int64(len(l.data)), Annotations: l.annotations})
	}
	m["layers"] = descs
	raw, err := json.Marshal(m)
	if err != nil {
		r.t.Fatal(err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	ref := tag
	if ref == "" {
		ref = h.String()
	}
	r.putManifest(repo, ref, raw, types.OCIManifestSchema1)
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: int64(len(raw)), ArtifactType: artifactType, Annotations: annotations}
}

// fallbackIndex writes the OCI 1.1 referrers tag schema index of subject
// (what clients maintain when a registry has no referrers API).
func (r *testRegistry) fallbackIndex(repo string, subject v1.Hash, refs ...v1.Descriptor) {
	r.t.Helper()
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: refs})
	if err != nil {
		r.t.Fatal(err)
	}
	r.putManifest(repo, digestname.FallbackTag(subject), raw, types.OCIImageIndex)
}

func (r *testRegistry) putManifest(repo, ref string, raw []byte, mt types.MediaType) {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://"+r.Host+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(raw))
	req.Header.Set("Content-Type", string(mt))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		r.t.Fatalf("PUT %s:%s: %s", repo, ref, resp.Status)
	}
}

func (r *testRegistry) has(repo, ref string) bool { return r.DigestOf(repo+":"+ref) != "" }

// signer is a cosign-style key pair.
type signer struct{ *cosigntest.Key }

func newSigner(t *testing.T) *signer { return &signer{cosigntest.NewKey(t)} }

// simpleSigningPayload is what cosign signs in the tag scheme.
func simpleSigningPayload(ref string, d v1.Hash) []byte {
	return cosigntest.SimpleSigningPayload(ref, d.String())
}

// signatureLayer is one simple-signing layer signed by s.
func (s *signer) signatureLayer(t *testing.T, payload []byte) layer {
	return layer{mediaType: simpleSigningMediaType, data: payload,
		annotations: map[string]string{signatureAnnotation: base64.StdEncoding.EncodeToString(s.Sign(t, payload))}}
}

// dsseBundle is a sigstore bundle holding a DSSE envelope of an in-toto
// statement about d, signed by s.
func (s *signer) dsseBundle(t *testing.T, d v1.Hash, predicateType string) []byte {
	t.Helper()
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "app", "digest": map[string]string{"sha256": d.Hex}}},
		"predicateType": predicateType,
		"predicate":     map[string]any{},
	})
	sig := s.Sign(t, dssePAE(inTotoPayloadType, stmt))
	b, _ := json.Marshal(map[string]any{
		"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": "test"}},
		"dsseEnvelope": map[string]any{
			"payload": base64.StdEncoding.EncodeToString(stmt), "payloadType": inTotoPayloadType,
			"signatures": []any{map[string]string{"sig": base64.StdEncoding.EncodeToString(sig)}},
		},
	})
	return b
}

// syncWith runs the engine from src to dst over repo:tag with the policy's
// gate and returns the tag's result.
func syncWith(t *testing.T, src, dst *testRegistry, repo, tag string, p Policy) syncer.TagResult {
	t.Helper()
	g, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	e, err := syncer.New(syncer.Options{RegistryOptions: syncer.RegistryOptions{InsecureHosts: []string{src.Host, dst.Host}, MaxRetries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Sync(context.Background(), syncer.Request{
		Source:      syncer.Endpoint{Registry: src.Host},
		Destination: syncer.Endpoint{Registry: dst.Host},
		Images:      []syncer.Image{{Name: repo, Tags: []string{tag}}},
		Gate:        g.Check,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("results = %+v", res)
	}
	return res[0]
}
