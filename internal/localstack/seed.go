package localstack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// SeedTags are the small public-looking images Seed pushes, as the quick
// start of the CRD operator Portager replaces names them.
var SeedTags = map[string][]string{
	"library/alpine": {"3.21", "latest"},
	"library/nginx":  {"1.27", "latest"},
}

// Seed pushes SeedTags into the plain-HTTP registry at host: small random
// images that share a base layer, like real images do. It returns the digest
// of each "repo:tag".
func Seed(host string) (map[string]string, error) {
	base, err := random.Layer(256<<10, "application/vnd.oci.image.layer.v1.tar+gzip")
	if err != nil {
		return nil, err
	}
	digests := map[string]string{}
	for repo, tags := range SeedTags {
		top, err := random.Layer(64<<10, "application/vnd.oci.image.layer.v1.tar+gzip")
		if err != nil {
			return nil, err
		}
		img, err := mutate.AppendLayers(empty.Image, base, top)
		if err != nil {
			return nil, err
		}
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		for _, tag := range tags {
			if err := push(host+"/"+repo+":"+tag, img); err != nil {
				return nil, err
			}
			digests[repo+":"+tag] = d.String()
		}
	}
	return digests, nil
}

func push(ref string, img v1.Image) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}

// QuickStart returns the quick-start manifest of the CRD operator Portager
// replaces (artifacts/examples/base-images.yaml) pointed at local registries: the
// source and destination hosts replaced, and ECR auth replaced by anonymous,
// since there is no ECR on loopback. Everything else is as written.
func QuickStart(root, src, dst string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(root, "artifacts/examples/base-images.yaml"))
	if err != nil {
		return nil, err
	}
	return []byte(strings.NewReplacer(
		"registry: docker.io/library", "registry: "+src+"/library",
		"registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com", "registry: "+dst,
		"method: ecr", "method: anonymous",
	).Replace(string(data))), nil
}
