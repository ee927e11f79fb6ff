package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// dataset is what was pushed to the source.
type dataset struct {
	repos         []string
	tags          []tagRef          // every tag, in push order
	digests       map[string]string // "repo:tag" -> top manifest digest
	blobs         map[string]int64  // unique blob digest -> size (layers and configs)
	blobRepo      map[string]string // a repository holding each blob
	blobBytes     int64
	manifestBytes int64
	headList      string // the raw HEAD client's list of tags (headList)
	mu            sync.Mutex
}

type tagRef struct{ repo, tag string }

func newDataset() *dataset {
	return &dataset{digests: map[string]string{}, blobs: map[string]int64{}, blobRepo: map[string]string{}}
}

// layer makes a gzip tarball holding one file of size random
// (incompressible) bytes drawn from seed. The gzip stream stores rather
// than compresses, so the blob is about size bytes.
func layer(seed uint64, size int64) v1.Layer {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	rng := rand.NewChaCha8(key)
	content := make([]byte, size)
	rng.Read(content)
	var buf bytes.Buffer
	buf.Grow(int(size) + 4096)
	gz, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/%016x.bin", seed), Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	tw.Write(content)
	tw.Close()
	gz.Close()
	return static.NewLayer(buf.Bytes(), types.DockerLayer)
}

func buildImage(arch string, created int, layers ...v1.Layer) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.DockerManifestSchema2)
	img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Labels = map[string]string{"bench.portager.io/build": fmt.Sprint(created)}
	return mutate.ConfigFile(img, cf)
}

func (ds *dataset) recordImage(repo string, img v1.Image) error {
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	m, err := img.RawManifest()
	if err != nil {
		return err
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	add := func(d string, n int64) {
		if _, ok := ds.blobs[d]; !ok {
			ds.blobs[d] = n
			ds.blobRepo[d] = repo
			ds.blobBytes += n
		}
	}
	for _, l := range ls {
		d, _ := l.Digest()
		n, _ := l.Size()
		add(d.String(), n)
	}
	add(cfgName.String(), int64(len(raw)))
	ds.manifestBytes += int64(len(m))
	return nil
}

func pushImage(reg, repo, tag string, img v1.Image, idx v1.ImageIndex) (string, error) {
	ref, err := name.NewTag(reg+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	opts := []remote.Option{remote.WithTransport(httpClient().Transport), remote.WithJobs(4)}
	var d v1.Hash
	if idx != nil {
		err = remote.WriteIndex(ref, idx, opts...)
		d, _ = idx.Digest()
	} else {
		err = remote.Write(ref, img, opts...)
		d, _ = img.Digest()
	}
	return d.String(), err
}

// plan of the main data set: every image has one of 4 shared "distro" base
// layers, its repository's runtime layer and 1-4 layers of its own, so 3-6
// layers; the first multiArch repositories hold two-platform indexes. The
// unique blob bytes add up to about c.size: bases 10%, repository layers
// 20%, the rest spread over the images' own layers with random weights.
func generateMain(c *config, reg string) (*dataset, error) {
	ds := newDataset()
	rng := rand.New(rand.NewPCG(c.seed, 7))
	const nBases = 4
	baseSize := c.size / 10 / nBases
	repoSize := c.size / 5 / int64(c.repos)

	type own struct {
		repo, tag, arch string
		weights         []float64
	}
	var owns []own
	var total float64
	for r := 0; r < c.repos; r++ {
		repo := fmt.Sprintf("bench/r%02d", r)
		ds.repos = append(ds.repos, repo)
		archs := []string{"amd64"}
		if r < c.multiArch {
			archs = []string{"amd64", "arm64"}
		}
		for t := 0; t < c.tagsPerRepo; t++ {
			tag := fmt.Sprintf("1.%d.%d", t/10, t%10)
			ds.tags = append(ds.tags, tagRef{repo, tag})
			for _, a := range archs {
				n := 1 + rng.IntN(4)
				o := own{repo: repo, tag: tag, arch: a}
				for i := 0; i < n; i++ {
					w := 0.2 + rng.ExpFloat64()
					o.weights = append(o.weights, w)
					total += w
				}
				owns = append(owns, o)
			}
		}
	}
	ownBytes := c.size - baseSize*nBases - repoSize*int64(c.repos)

	var bases [nBases]v1.Layer
	for i := range bases {
		bases[i] = layer(c.seed<<32|uint64(1000+i), baseSize)
	}
	seed := c.seed<<32 | 100000
	for r, repo := range ds.repos {
		repoLayers := map[string]v1.Layer{}
		for _, a := range []string{"amd64", "arm64"} {
			seed++
			if r < c.multiArch || a == "amd64" {
				repoLayers[a] = layer(seed, repoSize/int64(map[bool]int{true: 2, false: 1}[r < c.multiArch]))
			}
		}
		// build the repository's images, then push its tags in parallel
		type tagImages struct {
			tag    string
			images map[string]v1.Image
			order  []string
		}
		var tis []*tagImages
		for _, o := range owns {
			if o.repo != repo {
				continue
			}
			if len(tis) == 0 || tis[len(tis)-1].tag != o.tag {
				tis = append(tis, &tagImages{tag: o.tag, images: map[string]v1.Image{}})
			}
			ti := tis[len(tis)-1]
			ls := []v1.Layer{bases[(r+len(tis))%nBases], repoLayers[o.arch]}
			for _, w := range o.weights {
				seed++
				ls = append(ls, layer(seed, int64(float64(ownBytes)*w/total)))
			}
			img, err := buildImage(o.arch, int(seed), ls...)
			if err != nil {
				return nil, err
			}
			ti.images[o.arch] = img
			ti.order = append(ti.order, o.arch)
		}
		// Shared layers first: concurrent uploads of one blob to one
		// repository race in distribution's filesystem driver.
		shared := []v1.Layer{repoLayers["amd64"]}
		if l := repoLayers["arm64"]; l != nil {
			shared = append(shared, l)
		}
		for i := range bases {
			shared = append(shared, bases[i])
		}
		if err := pushLayers(reg, repo, shared...); err != nil {
			return nil, err
		}
		var g errgroup.Group
		g.SetLimit(4)
		for _, ti := range tis {
			g.Go(func() error {
				var idx v1.ImageIndex
				var img v1.Image
				if len(ti.order) > 1 {
					var adds []mutate.IndexAddendum
					for _, a := range ti.order {
						adds = append(adds, mutate.IndexAddendum{Add: ti.images[a], Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: a}}})
						if err := ds.recordImage(repo, ti.images[a]); err != nil {
							return err
						}
					}
					idx = mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.DockerManifestList), adds...)
					raw, err := idx.RawManifest()
					if err != nil {
						return err
					}
					ds.mu.Lock()
					ds.manifestBytes += int64(len(raw))
					ds.mu.Unlock()
				} else {
					img = ti.images[ti.order[0]]
					if err := ds.recordImage(repo, img); err != nil {
						return err
					}
				}
				d, err := pushImage(reg, repo, ti.tag, img, idx)
				if err != nil {
					return fmt.Errorf("pushing %s:%s: %w", repo, ti.tag, err)
				}
				ds.mu.Lock()
				ds.digests[repo+":"+ti.tag] = d
				ds.mu.Unlock()
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// changeTag moves one tag of the source to a new single-platform image:
// the same base and repository layers plus one new layer of size bytes.
// It returns the new digest and the new blob bytes (layer and config).
func changeTag(c *config, reg string, ds *dataset, run int, size int64) (repo, tag, digest string, newBytes int64, err error) {
	// the last single-platform repository, its middle tag
	r := len(ds.repos) - 1
	repo = ds.repos[r]
	tag = fmt.Sprintf("1.%d.%d", (c.tagsPerRepo/2)/10, (c.tagsPerRepo/2)%10)
	old, err := remote.Image(mustTag(reg, repo, tag), remote.WithTransport(httpClient().Transport))
	if err != nil {
		return "", "", "", 0, err
	}
	ls, err := old.Layers()
	if err != nil {
		return "", "", "", 0, err
	}
	nl := layer(c.seed<<32|uint64(900000+run), size)
	img, err := buildImage("amd64", 900000+run, ls[0], ls[1], nl)
	if err != nil {
		return "", "", "", 0, err
	}
	digest, err = pushImage(reg, repo, tag, img, nil)
	if err != nil {
		return "", "", "", 0, err
	}
	ln, _ := nl.Size()
	raw, _ := img.RawConfigFile()
	ds.mu.Lock()
	ds.digests[repo+":"+tag] = digest
	ds.mu.Unlock()
	return repo, tag, digest, ln + int64(len(raw)), nil
}

func pushLayers(reg, repo string, ls ...v1.Layer) error {
	r, err := name.NewRepository(reg+"/"+repo, name.Insecure)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if err := remote.WriteLayer(r, l, remote.WithTransport(httpClient().Transport)); err != nil {
			return fmt.Errorf("pushing a layer to %s: %w", repo, err)
		}
	}
	return nil
}

func mustTag(reg, repo, tag string) name.Tag {
	t, err := name.NewTag(reg+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		panic(err)
	}
	return t
}

// generateMany pushes c.manyTags small single-layer-plus-base images over
// c.manyRepos repositories.
func generateMany(c *config, reg string) (*dataset, error) {
	ds := newDataset()
	base := layer(c.seed<<32|7777, 64<<10)
	perRepo := (c.manyTags + c.manyRepos - 1) / c.manyRepos
	for r := 0; r < c.manyRepos; r++ {
		ds.repos = append(ds.repos, fmt.Sprintf("many/m%02d", r))
	}
	for _, repo := range ds.repos {
		if err := pushLayers(reg, repo, base); err != nil {
			return nil, err
		}
	}
	var g errgroup.Group
	g.SetLimit(8)
	for i := 0; i < c.manyTags; i++ {
		repo := ds.repos[i/perRepo]
		tag := fmt.Sprintf("2.%d.%d", (i%perRepo)/100, (i%perRepo)%100)
		ds.tags = append(ds.tags, tagRef{repo, tag})
		g.Go(func() error {
			img, err := buildImage("amd64", i, base, layer(c.seed<<32|uint64(500000+i), 2<<10))
			if err != nil {
				return err
			}
			if err := ds.recordImage(repo, img); err != nil {
				return err
			}
			d, err := pushImage(reg, repo, tag, img, nil)
			if err != nil {
				return fmt.Errorf("pushing %s:%s: %w", repo, tag, err)
			}
			ds.mu.Lock()
			ds.digests[repo+":"+tag] = d
			ds.mu.Unlock()
			return nil
		})
	}
	return ds, g.Wait()
}
