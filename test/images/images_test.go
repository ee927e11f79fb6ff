package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// buildImages runs hack/images.sh against repo and returns name -> digest
// reference.
func buildImages(t *testing.T, repo string) map[string]string {
	t.Helper()
	ko := os.Getenv("KO")
	if ko == "" {
		ko = filepath.Join(repoRoot(), "_output/bin/ko")
	}
	if _, err := os.Stat(ko); err != nil {
		t.Fatalf("ko not found at %s (set KO, or run `make test-images`, which installs it): %v", ko, err)
	}
	cmd := exec.Command(filepath.Join(repoRoot(), "hack/images.sh"))
	cmd.Env = append(os.Environ(), "KO="+ko, "KO_DOCKER_REPO="+repo, "TAG=test")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/images.sh: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	refs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("hack/images.sh printed %q", line)
		}
		refs[k] = v
	}
	return refs
}

// TestImages: the three images are built from a base made on this machine
// (nothing is pulled), run as nonroot with their binary as entrypoint,
// trust CA certificates, give the same digests when built again, and hold
// binaries that run and print their version.
func TestImages(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/portager"

	first := buildImages(t, repo)
	second := buildImages(t, repo)
	commit := ""
	if out, err := exec.Command("git", "-C", repoRoot(), "rev-parse", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))[:12]
	}
	for _, tc := range []struct{ image, binary string }{
		{"portager-apiserver", "apiserver"},
		{"portager-controller", "controller"},
		{"portager", "portager"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			ref, ok := first[tc.image]
			if !ok {
				t.Fatalf("not built: %v", first)
			}
			if second[tc.image] != ref {
				t.Errorf("rebuilt from the same commit as %s, first %s", second[tc.image], ref)
			}
			d, err := name.NewDigest(ref)
			if err != nil {
				t.Fatal(err)
			}
			img, err := remote.Image(d)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Config.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532 (nonroot)", cfg.Config.User)
			}
			entry := "/ko-app/" + tc.binary
			if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != entry {
				t.Errorf("entrypoint %v, want [%s]", cfg.Config.Entrypoint, entry)
			}
			if cfg.OS != "linux" || cfg.Architecture != "amd64" {
				t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
			}
			files := extract(t, img, entry[1:], "etc/ssl/certs/ca-certificates.crt", "etc/passwd")
			if !bytes.Contains(files["etc/ssl/certs/ca-certificates.crt"], []byte("BEGIN CERTIFICATE")) {
				t.Error("no CA certificates in the image")
			}
			if !bytes.Contains(files["etc/passwd"], []byte("nonroot:x:65532:65532")) {
				t.Error("no nonroot user in /etc/passwd")
			}
			bin := filepath.Join(t.TempDir(), tc.binary)
			if err := os.WriteFile(bin, files[entry[1:]], 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "--version").CombinedOutput()
			if err != nil {
				t.Fatalf("%s --version: %v: %s", entry, err, out)
			}
			if !strings.Contains(string(out), " version ") || (commit != "" && !strings.Contains(string(out), commit)) {
				t.Errorf("%s --version printed %q, want a version with commit %s", entry, out, commit)
			}
		})
	}
}

// extract reads the named files from img's flattened filesystem.
func extract(t *testing.T, img v1.Image, names ...string) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n := strings.TrimPrefix(path.Clean(h.Name), "/")
		if want[n] {
			data, err := io.ReadAll(io.LimitReader(tr, 256<<20))
			if err != nil {
				t.Fatal(err)
			}
			files[n] = data
		}
	}
	for _, n := range names {
		if _, ok := files[n]; !ok {
			t.Errorf("%s is not in the image", n)
		}
	}
	return files
}
