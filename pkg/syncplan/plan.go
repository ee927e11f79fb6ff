package syncplan

import (
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/syncer"
)

// Credentials are the keychains of the two sides. Nil means anonymous.
type Credentials struct {
	Source, Destination authn.Keychain
}

// Request builds the engine request for spec. Images listed more than once
// under the same name are merged, so each tag is resolved and copied once.
func Request(spec *v1alpha1.ImageSyncSpec, creds Credentials) syncer.Request {
	req := syncer.Request{
		Source:           syncer.Endpoint{Registry: spec.Source.Registry, Keychain: creds.Source},
		Destination:      syncer.Endpoint{Registry: spec.Destination.Registry, Keychain: creds.Destination},
		RepositoryPrefix: spec.Destination.RepositoryPrefix,
	}
	index := map[string]int{}
	for _, img := range spec.Images {
		if i, ok := index[img.Name]; ok {
			merged := &req.Images[i]
			merged.Tags = append(merged.Tags, img.Tags...)
			if merged.Semver == "" {
				merged.Semver, merged.MaxTags = img.Semver, int(img.MaxTags)
			} else if img.Semver != "" {
				// Two constraints for one image: a tag matching either is wanted.
				merged.Semver += " || " + img.Semver
				merged.MaxTags = maxTagsUnion(merged.MaxTags, int(img.MaxTags))
			}
			continue
		}
		index[img.Name] = len(req.Images)
		req.Images = append(req.Images, syncer.Image{
			Name:    img.Name,
			Tags:    append([]string(nil), img.Tags...),
			Semver:  img.Semver,
			MaxTags: int(img.MaxTags),
		})
	}
	return req
}

// maxTagsUnion is the cap of two merged constraints: unlimited wins,
// otherwise their sum keeps each one's newest tags reachable.
func maxTagsUnion(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	return a + b
}
