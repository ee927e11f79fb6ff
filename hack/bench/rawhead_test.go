package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRawHeadMain runs the raw HEAD client against two in-process
// registries holding the same tags, and checks that it fails on what the
// limit must not count as done: a digest the registry does not name, a tag
// missing on one side, a list it cannot read.
func TestRawHeadMain(t *testing.T) {
	src := httptest.NewServer(ggcrregistry.New())
	t.Cleanup(src.Close)
	dst := httptest.NewServer(ggcrregistry.New())
	t.Cleanup(dst.Close)
	srcHost, dstHost := strings.TrimPrefix(src.URL, "http://"), strings.TrimPrefix(dst.URL, "http://")

	var lines []string
	digests := map[string]string{}
	for _, ref := range []string{"app/one:1.0.0", "app/one:1.0.1", "app/two:2.0.0"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{srcHost, dstHost} {
			push(t, host+"/"+ref, img)
		}
		repo, tag, _ := strings.Cut(ref, ":")
		lines = append(lines, fmt.Sprintf("%s %s %s", repo, tag, d))
		digests[ref] = d.String()
	}
	// A tag only the source has.
	onlySrc, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	push(t, srcHost+"/app/two:2.0.1", onlySrc)
	onlySrcDigest, err := onlySrc.Digest()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	lists := 0
	list := func(lines ...string) string {
		lists++
		p := filepath.Join(dir, fmt.Sprintf("list-%d.txt", lists))
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // "" for success
	}{
		{"every tag on both sides", []string{"2", srcHost, dstHost, list(lines...)}, ""},
		{"one stream", []string{"1", srcHost, dstHost, list(lines...)}, ""},
		{"a digest the registries do not name", []string{"4", srcHost, dstHost,
			list(lines[0], "app/one 1.0.1 "+digests["app/one:1.0.0"])}, "app/one:1.0.1: digest"},
		{"a tag the destination lacks", []string{"4", srcHost, dstHost,
			list(lines[0], lines[1], lines[2], "app/two 2.0.1 "+onlySrcDigest.String())}, "app/two:2.0.1: 404"},
		{"a malformed line", []string{"4", srcHost, dstHost, list(lines[0], "app/one 1.0.1")}, ":2: want"},
		{"no such list", []string{"4", srcHost, dstHost, filepath.Join(dir, "missing.txt")}, "no such file"},
		{"no streams", []string{"0", srcHost, dstHost, list(lines...)}, "want a positive number"},
		{"too few arguments", []string{"4", srcHost, dstHost}, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := rawHeadMain(tc.args)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("rawHeadMain: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("rawHeadMain: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}
