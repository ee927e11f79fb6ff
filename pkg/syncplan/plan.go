package syncplan

import (
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/gate"
	"github.com/portager/portager/pkg/syncer"
)

// Credentials are what a run acts and judges with: the keychains of the
// two sides (nil means anonymous), and the Sigstore trusted root that
// keyless cosign signatures are verified with (nil refuses them).
type Credentials struct {
	Source, Destination authn.Keychain
	SigstoreRoot        root.TrustedMaterial
}

// Request builds the engine request for spec. Images listed more than once
// under the same name are merged where the union of their selections can be
// stated as one: explicit tags and digests always, and semver constraints
// joined with "||". An entry with include or exclude patterns, or with
// other platforms than the entry it would merge into, keeps its selection
// of its own (the engine syncs a tag that two selections pick once, as the
// first picks it). An image's platforms are its own or else
// spec.platforms. The verification gates of spec.validation become the request's
// Gate; an error means they cannot be checked (a public key API validation
// would have refused).
func Request(spec *v1alpha1.ImageSyncSpec, creds Credentials) (syncer.Request, error) {
	req := syncer.Request{
		Source:           syncer.Endpoint{Registry: spec.Source.Registry, Keychain: creds.Source},
		Destination:      syncer.Endpoint{Registry: spec.Destination.Registry, Keychain: creds.Destination},
		RepositoryPrefix: spec.Destination.RepositoryPrefix,
		ImmutableTags:    spec.ImmutableTags,
		KeepDivergedTags: spec.Destination.Overwrite == v1alpha1.OverwriteNever,
	}
	index := map[string]int{}
	for _, img := range spec.Images {
		patterns := len(img.Include) > 0 || len(img.Exclude) > 0
		platforms := img.Platforms
		if len(platforms) == 0 {
			platforms = spec.Platforms
		}
		if i, ok := index[img.Name]; ok && !slices.Equal(req.Images[i].Platforms, platforms) {
			req.Images = append(req.Images, syncer.Image{
				Name: img.Name, Tags: append([]string(nil), img.Tags...), Semver: img.Semver, MaxTags: int(img.MaxTags),
				Include:   append([]string(nil), img.Include...),
				Exclude:   append([]string(nil), img.Exclude...),
				Digests:   append([]string(nil), img.Digests...),
				Platforms: append([]string(nil), platforms...),
			})
			continue
		}
		if i, ok := index[img.Name]; ok {
			merged := &req.Images[i]
			merged.Tags = append(merged.Tags, img.Tags...)
			merged.Digests = append(merged.Digests, img.Digests...)
			switch {
			case patterns:
				// Its own selection, without the tags and digests merged
				// above.
				req.Images = append(req.Images, syncer.Image{
					Name: img.Name, Semver: img.Semver, MaxTags: int(img.MaxTags),
					Include:   append([]string(nil), img.Include...),
					Exclude:   append([]string(nil), img.Exclude...),
					Platforms: append([]string(nil), platforms...),
				})
			case img.Semver == "":
			case merged.Semver == "":
				merged.Semver, merged.MaxTags = img.Semver, int(img.MaxTags)
			default:
				// Two constraints for one image: a tag matching either is wanted.
				merged.Semver += " || " + img.Semver
				merged.MaxTags = maxTagsUnion(merged.MaxTags, int(img.MaxTags))
			}
			continue
		}
		if !patterns {
			index[img.Name] = len(req.Images)
		}
		req.Images = append(req.Images, syncer.Image{
			Name:      img.Name,
			Tags:      append([]string(nil), img.Tags...),
			Semver:    img.Semver,
			Include:   append([]string(nil), img.Include...),
			Exclude:   append([]string(nil), img.Exclude...),
			MaxTags:   int(img.MaxTags),
			Digests:   append([]string(nil), img.Digests...),
			Platforms: append([]string(nil), platforms...),
		})
	}
	if p := Policy(spec.Validation); p.Enabled() {
		if p.Cosign != nil {
			p.Cosign.TrustedRoot = creds.SigstoreRoot
		}
		g, err := gate.New(p)
		if err != nil {
			return req, fmt.Errorf("spec.validation: %w", err)
		}
		req.Gate = g.Check
	}
	return req, nil
}

// Policy is the gate policy of spec.validation; gates that are absent or
// not enabled check nothing.
func Policy(v *v1alpha1.ValidationSpec) gate.Policy {
	var p gate.Policy
	if v == nil {
		return p
	}
	if c := v.Cosign; c != nil && c.Enabled {
		p.Cosign = &gate.CosignPolicy{
			PublicKey:             c.PublicKey,
			KeylessIssuer:         c.KeylessIssuer,
			KeylessIdentity:       c.KeylessIdentity,
			KeylessIdentityRegexp: c.KeylessIdentityRegexp,
		}
	}
	p.RequireSBOM = v.SBOMGate != nil && v.SBOMGate.Enabled
	if g := v.VulnerabilityGate; g != nil && g.Enabled {
		// requireCveReport defaults to true (the API server applies the
		// default; a nil here is treated the same way).
		p.Vulnerability = &gate.VulnerabilityPolicy{
			MaxSeverity:   g.MaxSeverity,
			RequireReport: g.RequireCveReport == nil || *g.RequireCveReport,
		}
	}
	return p
}

// maxTagsUnion is the cap of two merged constraints: unlimited wins,
// otherwise their sum keeps each one's newest tags reachable.
func maxTagsUnion(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	return a + b
}
