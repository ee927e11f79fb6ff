package once

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"

	"github.com/portager/portager/internal/cloudfake"
	"github.com/portager/portager/internal/nettest"
	"github.com/portager/portager/internal/registrytest"
	"github.com/portager/portager/pkg/cloudauth"
	"github.com/portager/portager/pkg/dockerconfig/dockerconfigtest"
	"github.com/portager/portager/pkg/registryhost"
)

// startRegistry runs the shared test registry on 127.0.0.1 and returns its
// host. With user set, every request needs that Basic credential.
func startRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	reg := registrytest.New(t)
	if user != "" {
		reg.Authorize = func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == user && p == pass
		}
	}
	return reg.Host
}

// push writes img, or idx when it is set, to ref with auth and returns its
// digest.
func push(t *testing.T, ref string, img v1.Image, idx v1.ImageIndex, auth authn.Authenticator) string {
	t.Helper()
	var x remote.Taggable = img
	if idx != nil {
		x = idx
	}
	return registrytest.Write(t, ref, x, remote.WithAuth(auth)).String()
}

// digestAt returns the digest ref resolves to, or "" if it does not exist.
func digestAt(t *testing.T, ref string, auth authn.Authenticator) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r, remote.WithAuth(auth))
	if err != nil {
		return ""
	}
	return desc.Digest.String()
}

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func randomIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		adds = append(adds, mutate.IndexAddendum{Add: randomImage(t), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

// noLogins hides this machine's registry logins (docker's and podman's
// files) from once for the rest of t.
func noLogins(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "no-auth.json"))
}

// newRoot mounts the once command under a root, as the binaries do.
func newRoot(out, errOut io.Writer) *cobra.Command {
	return newRootWith(out, errOut, &options{})
}

// newRootWith is newRoot with oo's fields that have no flag set.
func newRootWith(out, errOut io.Writer, oo *options) *cobra.Command {
	root := &cobra.Command{Use: "portager"}
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(newCommand("portager", oo))
	return root
}

// runOnce runs `portager args...` and returns stdout, stderr and the error
// the binaries' main functions turn into exit status 1.
func runOnce(stdin string, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	cmd := newRoot(&out, &errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const manifestTmpl = `apiVersion: portager.portager.io/v1alpha1
kind: ImageSync
metadata:
  name: one-shot
spec:
  schedule: "@every 1h"
  source:
    registry: %s/upstream
    authSecretRef:
      name: ignored-in-one-shot-mode
  destination:
    registry: %s
    repositoryPrefix: mirror
    auth:
      method: secret
      secretRef:
        name: also-ignored
  images:
%s`

func TestOnce(t *testing.T) {
	// Without --docker-config both sides are anonymous.
	noLogins(t)
	const user, pass = "mirror-bot", "s3cret"
	basic := &authn.Basic{Username: user, Password: pass}
	src := startRegistry(t, user, pass)
	dst := startRegistry(t, user, pass)

	appV1 := push(t, src+"/upstream/app:v1", randomImage(t), nil, basic)
	appV2 := push(t, src+"/upstream/app:v2", randomImage(t), nil, basic)
	multi := push(t, src+"/upstream/base:1.0.0", nil, randomIndex(t), basic)
	push(t, src+"/upstream/base:0.9.0", randomImage(t), nil, basic)

	dockerConfig := writeFile(t, "config.json", fmt.Sprintf(`{"auths":{"http://%s":{"auth":%q},"%s":{"username":%q,"password":%q}}}`,
		src, base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), dst, user, pass))
	wrongConfig := writeFile(t, "wrong.json", fmt.Sprintf(`{"auths":{"%s":{"username":"x","password":"y"},"%s":{"username":"x","password":"y"}}}`, src, dst))

	images := func(lines ...string) string { return "    " + strings.Join(lines, "\n    ") + "\n" }
	manifest := func(imgs string) string { return fmt.Sprintf(manifestTmpl, src, dst, imgs) }
	good := writeFile(t, "good.yaml", manifest(images(
		`- name: app`, `  tags: ["v1", "v2"]`,
		`- name: base`, `  semver: ">=1.0.0"`)))
	missingTag := writeFile(t, "missing.yaml", manifest(images(`- name: app`, `  tags: ["v1", "nope"]`)))
	selection := writeFile(t, "selection.yaml", manifest(images(
		`- name: app`, `  include: ["v.*"]`, `  exclude: ["v2"]`,
		`- name: app`, `  digests: ["`+appV2+`"]`,
		`- name: base`, `  tags: ["1.0.0@`+multi+`"]`)))
	brokenPin := writeFile(t, "pin.yaml", manifest(images(`- name: app`, `  tags: ["v1@`+appV2+`"]`)))
	insecure := []string{"--insecure-registry", src, "--insecure-registry", dst}

	type want struct {
		err      error  // errors.Is target; nil: success
		errText  string // substring of the error, when not errors.Is-able
		stdout   []string
		stderr   []string
		digests  map[string]string // destination ref -> digest ("" = absent)
		noOutput bool
		json     bool // stdout is one JSON document and nothing else
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  want
	}{
		{
			name: "anonymous without docker config fails auth and exits non-zero",
			args: append([]string{"once", "-f", good}, insecure...),
			want: want{err: errTagsFailed, stdout: []string{"AuthFailed", "0 copied, 0 up to date, 3 failed"},
				digests: map[string]string{dst + "/mirror/app:v1": ""}},
		},
		{
			name: "wrong credentials fail auth",
			args: append([]string{"once", "-f", good, "--docker-config", wrongConfig}, insecure...),
			want: want{err: errTagsFailed, stdout: []string{"AuthFailed"}},
		},
		{
			name: "dry run before the first copy names what a run would copy and writes nothing",
			args: append([]string{"once", "-f", good, "--docker-config", dockerConfig, "--dry-run"}, insecure...),
			want: want{
				stdout: []string{"WouldCopy", "DestinationMissing", appV1, appV2, multi,
					"dry run: 3 would be copied, 0 up to date, 0 failed; nothing written"},
				digests: map[string]string{
					dst + "/mirror/app:v1":     "",
					dst + "/mirror/app:v2":     "",
					dst + "/mirror/base:1.0.0": "",
				},
			},
		},
		{
			name: "dry run shows what include, exclude, digests and a pin select",
			args: append([]string{"once", "-f", selection, "--docker-config", dockerConfig, "--dry-run"}, insecure...),
			want: want{stdout: []string{"v1", appV1, appV2, "1.0.0", multi, "dry run: 3 would be copied, 0 up to date, 0 failed"}},
		},
		{
			name: "a broken pin fails its tag and writes nothing",
			args: append([]string{"once", "-f", brokenPin, "--docker-config", dockerConfig}, insecure...),
			want: want{err: errTagsFailed, stdout: []string{"DigestMismatch", "0 copied, 0 up to date, 1 failed"},
				digests: map[string]string{dst + "/mirror/app:v1": ""}},
		},
		{
			name: "cold copy with docker config: explicit tags and semver, incl. an index",
			args: append([]string{"once", "-f", good, "--docker-config", dockerConfig, "--tag-concurrency", "2"}, insecure...),
			want: want{
				stdout: []string{"IMAGE", "OUTCOME", "DIGEST", "BYTES", "DURATION", "REASON", "MESSAGE",
					"app", "v1", "Copied", appV1, appV2, multi, "3 copied, 0 up to date, 0 failed"},
				digests: map[string]string{
					dst + "/mirror/app:v1":          appV1,
					dst + "/mirror/app:v2":          appV2,
					dst + "/mirror/base:1.0.0":      multi,
					dst + "/mirror/base:0.9.0":      "", // outside the constraint
					dst + "/upstream/app:v1":        "", // prefix replaces the source path
					dst + "/mirror/upstream/app:v1": "",
				},
			},
		},
		{
			name: "re-run is a no-op",
			args: append([]string{"once", "-f", good, "--docker-config", dockerConfig}, insecure...),
			want: want{stdout: []string{"Skipped", "UpToDate", "0 copied, 3 up to date, 0 failed; 0 bytes"}},
		},
		{
			name: "re-run with -o json prints only JSON",
			args: append([]string{"once", "-f", good, "--docker-config", dockerConfig, "-o", "json"}, insecure...),
			want: want{json: true, stdout: []string{`"upToDate": 3`, `"failed": 0`, `"outcome": "Skipped"`, appV1}},
		},
		{
			name: "re-run checking one tag at a time",
			args: append([]string{"once", "-f", good, "--docker-config", dockerConfig, "--check-concurrency", "1"}, insecure...),
			want: want{stdout: []string{"0 copied, 3 up to date, 0 failed; 0 bytes"}},
		},
		{
			name:  "JSON manifest on stdin",
			stdin: `{"apiVersion":"portager.portager.io/v1alpha1","kind":"ImageSync","metadata":{"name":"x","namespace":"ns"},"spec":{"schedule":"@daily","source":{"registry":"` + src + `/upstream"},"destination":{"registry":"` + dst + `","repositoryPrefix":"json","auth":{"method":"secret","secretRef":{"name":"ignored"}}},"images":[{"name":"app","tags":["v2"]}]}}`,
			args:  append([]string{"once", "-f", "-", "--docker-config", dockerConfig}, insecure...),
			want:  want{stdout: []string{"1 copied"}, digests: map[string]string{dst + "/json/app:v2": appV2}},
		},
		{
			name: "dry run of a current mirror",
			args: append([]string{"once", "-f", good, "--docker-config", dockerConfig, "--dry-run"}, insecure...),
			want: want{stdout: []string{"UpToDate", "dry run: 0 would be copied, 3 up to date, 0 failed"}},
		},
		{
			name: "dry run still fails a missing tag and exits non-zero",
			args: append([]string{"once", "-f", missingTag, "--docker-config", dockerConfig, "--dry-run"}, insecure...),
			want: want{err: errTagsFailed, stdout: []string{"TagNotFound", "dry run: 0 would be copied, 1 up to date, 1 failed"}},
		},
		{
			name: "a missing tag fails that tag, copies the other, exits non-zero",
			args: append([]string{"once", "-f", missingTag, "--docker-config", dockerConfig}, insecure...),
			want: want{err: errTagsFailed, stdout: []string{"nope", "TagNotFound", "0 copied, 1 up to date, 1 failed"}},
		},
		{
			name: "without --insecure-registry the engine insists on TLS",
			args: []string{"once", "-f", good, "--docker-config", dockerConfig},
			want: want{err: errTagsFailed, stdout: []string{"TLSFailed"}},
		},
		{
			name: "invalid manifest prints field paths",
			args: []string{"once", "-f", writeFile(t, "bad.yaml", `apiVersion: portager.portager.io/v1alpha1
kind: ImageSync
metadata:
  name: Bad_Name
spec:
  schedule: "every day"
  source:
    registry: https://ghcr.io
  destination:
    registry: ghcr.io
    auth:
      method: magic
  images:
    - name: app
    - name: Upper
      tags: ["v1"]
      semver: "not a constraint"
`)},
			want: want{err: errInvalidManifest, noOutput: true, stderr: []string{
				"metadata.name", "spec.schedule", "spec.source.registry", "spec.destination.auth.method",
				"spec.images[0].tags", "spec.images[1].name", "spec.images[1].semver"}},
		},
		{
			name: "verification gates run",
			args: append([]string{"once", "-f", writeFile(t, "gated.yaml", manifest(images(`- name: app`, `  tags: ["v1"]`))+`  validation:
    sbomGate:
      enabled: true
`), "--docker-config", dockerConfig}, insecure...),
			want: want{err: errTagsFailed, stdout: []string{"GateFailed", "gate: sbom: no SPDX or CycloneDX SBOM attached"}},
		},
		{
			// Method "ecr" uses this machine's AWS identity, whose token
			// goes to ECR hosts only: a loopback destination gets none,
			// and the run stops before any request.
			name: "ecr method on a host that is not ECR",
			args: append([]string{"once", "-f", writeFile(t, "ecr.yaml", strings.Replace(manifest(images(`- name: app`, `  tags: ["v1"]`)),
				"      method: secret\n      secretRef:\n        name: also-ignored\n", "      method: ecr\n", 1)+"  createDestinationRepos: true\n"),
				"--docker-config", dockerConfig}, insecure...),
			want: want{errText: `spec.destination.auth.method "ecr": ` + dst + " is not an Amazon ECR registry", noOutput: true},
		},
		{
			name: "keyless gate with an unreadable trusted root",
			args: append([]string{"once", "-f", writeFile(t, "keyless.yaml", manifest(images(`- name: app`, `  tags: ["v1"]`))+`  validation:
    cosign:
      enabled: true
      keylessIssuer: https://token.actions.githubusercontent.com
      keylessIdentity: ci@example.com
`), "--sigstore-trusted-root", filepath.Join(t.TempDir(), "absent.json")}, insecure...),
			want: want{errText: "reading the Sigstore trusted root", noOutput: true},
		},
		{
			name: "wrong kind",
			args: []string{"once", "-f", writeFile(t, "req.yaml", "apiVersion: portager.portager.io/v1alpha1\nkind: ImageSyncRequest\nmetadata:\n  name: x\n")},
			want: want{errText: "want an ImageSync", noOutput: true},
		},
		{
			name: "two documents",
			args: []string{"once", "-f", writeFile(t, "two.yaml", manifest(images(`- name: app`, `  tags: ["v1"]`))+"---\n"+manifest(images(`- name: app`, `  tags: ["v2"]`)))},
			want: want{errText: "2 documents", noOutput: true},
		},
		{
			name: "empty manifest",
			args: []string{"once", "-f", "-"},
			want: want{errText: "empty", noOutput: true},
		},
		{
			name: "CA file without certificates",
			args: []string{"once", "-f", good, "--registry-ca-file", writeFile(t, "ca.pem", "not pem")},
			want: want{errText: "holds no PEM certificate", noOutput: true},
		},
		{
			name: "negative check concurrency",
			args: append([]string{"once", "-f", good, "--check-concurrency", "-1"}, insecure...),
			want: want{errText: "--check-concurrency must be at least 1", noOutput: true},
		},
		{
			name: "manifest file missing",
			args: []string{"once", "-f", filepath.Join(t.TempDir(), "absent.yaml")},
			want: want{errText: "reading manifest", noOutput: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runOnce(tc.stdin, tc.args...)
			switch {
			case tc.want.err != nil:
				if !errors.Is(err, tc.want.err) {
					t.Fatalf("err = %v, want %v\nstdout:\n%s\nstderr:\n%s", err, tc.want.err, stdout, stderr)
				}
			case tc.want.errText != "":
				if err == nil || !strings.Contains(err.Error(), tc.want.errText) {
					t.Fatalf("err = %v, want one containing %q", err, tc.want.errText)
				}
			case err != nil:
				t.Fatalf("err = %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			for _, s := range tc.want.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.want.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tc.want.json && !json.Valid([]byte(stdout)) {
				t.Errorf("stdout is not JSON:\n%s", stdout)
			}
			if tc.want.noOutput && strings.Contains(stdout, "OUTCOME") {
				t.Errorf("nothing should have been synced:\n%s", stdout)
			}
			for ref, d := range tc.want.digests {
				if got := digestAt(t, ref, basic); got != d {
					t.Errorf("%s: digest %q, want %q", ref, got, d)
				}
			}
		})
	}
}

// TestOnceDockerLogin: without --docker-config, once reads the Docker
// config file where docker login writes it ($DOCKER_CONFIG here) and runs
// the credential helpers it names, real programs on PATH
// (dockerconfigtest): the source's credentials come from a credHelpers
// entry, the destination's from auths. A helper that fails fails the
// image's tags with AuthFailed and none of its output.
func TestOnceDockerLogin(t *testing.T) {
	src := startRegistry(t, "src-robot", "src-pw")
	dst := startRegistry(t, "dst-robot", "dst-pw")
	want := push(t, src+"/upstream/app:v1", randomImage(t), nil, &authn.Basic{Username: "src-robot", Password: "src-pw"})
	helpers := dockerconfigtest.Install(t, map[string]string{src: `{"Username":"src-robot","Secret":"src-pw"}`})
	noLogins(t)
	configDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", configDir)
	manifest := fmt.Sprintf(manifestTmpl, src, dst, "    - name: app\n      tags: [v1]\n")
	insecure := []string{"--insecure-registry", src, "--insecure-registry", dst}

	tests := []struct {
		name     string
		config   string
		manifest string // default: manifest, method "secret"
		err      error
		stdout   []string
		digest   string
	}{
		{
			name:   "credHelpers for the source, auths for the destination",
			config: fmt.Sprintf(`{"auths": {%q: {"username": "dst-robot", "password": "dst-pw"}}, "credHelpers": {%q: "test"}}`, dst, src),
			stdout: []string{"1 copied, 0 up to date, 0 failed"}, digest: want,
		},
		{
			name:   "a failing helper",
			config: fmt.Sprintf(`{"auths": {%q: {"username": "dst-robot", "password": "dst-pw"}}, "credHelpers": {%q: "broken"}}`, dst, src),
			err:    errTagsFailed, stdout: []string{"AuthFailed", "credential helper docker-credential-broken failed"},
			digest: want, // from the first case
		},
		{
			name:     "method anonymous sends the destination nothing",
			config:   fmt.Sprintf(`{"auths": {%q: {"username": "dst-robot", "password": "dst-pw"}}, "credHelpers": {%q: "test"}}`, dst, src),
			manifest: strings.Replace(manifest, "      method: secret\n      secretRef:\n        name: also-ignored\n", "      method: anonymous\n", 1),
			err:      errTagsFailed, stdout: []string{"AuthFailed"},
			digest: want,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(configDir, "config.json"), []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			m := tc.manifest
			if m == "" {
				m = manifest
			}
			stdout, stderr, err := runOnce(m, append([]string{"once", "-f", "-"}, insecure...)...)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v\nstdout:\n%s\nstderr:\n%s", err, tc.err, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if strings.Contains(stdout+stderr, dockerconfigtest.Canary) {
				t.Errorf("a helper's output reached the user:\n%s%s", stdout, stderr)
			}
			if got := digestAt(t, dst+"/mirror/app:v1", &authn.Basic{Username: "dst-robot", Password: "dst-pw"}); got != tc.digest {
				t.Errorf("destination digest %q, want %q", got, tc.digest)
			}
		})
	}
	if got := helpers.Calls(t); len(got) != 2 || got[0] != src || got[1] != src {
		t.Errorf("docker-credential-test was asked for %v, want %s once per run that uses it", got, src)
	}
}

// TestOnceECR: method "ecr" with createDestinationRepos, against stand-ins
// for STS and ECR (internal/cloudfake: AWS cannot be reached from here)
// and a loopback registry that plays the ECR host and takes only the ECR
// token. A dry run creates no repository and reports the tag missing; the
// run then creates the repository and pushes with the token.
func TestOnceECR(t *testing.T) {
	noLogins(t)
	aws := cloudfake.NewAWS(t)
	src := startRegistry(t, "", "")
	dst := startRegistry(t, "AWS", aws.Password)
	want := push(t, src+"/upstream/app:v1", randomImage(t), nil, authn.Anonymous)
	ecr := cloudauth.NewECR()
	ecr.Aliases = map[string]registryhost.ECR{dst: {AccountID: cloudfake.Account, Region: "us-east-1"}}
	manifest := writeFile(t, "ecr.yaml", fmt.Sprintf(`apiVersion: portager.portager.io/v1alpha1
kind: ImageSync
metadata:
  name: to-ecr
spec:
  schedule: "@every 1h"
  source:
    registry: %s/upstream
  destination:
    registry: %s
    repositoryPrefix: mirror
    auth:
      method: ecr
  createDestinationRepos: true
  images:
    - name: app
      tags: ["v1"]
`, src, dst))
	ecrToken := &authn.Basic{Username: "AWS", Password: aws.Password}

	tests := []struct {
		name        string
		dryRun      bool
		stdout      string
		stderr      string // "" wants none
		created     bool
		wantDigest  string
		createCalls int // CreateRepository calls so far
	}{
		{name: "dry run", dryRun: true, stdout: "dry run: 1 would be copied, 0 up to date, 0 failed", createCalls: 0},
		{name: "run", stdout: "1 copied, 0 up to date, 0 failed", stderr: `created ECR repository "mirror/app"`,
			created: true, wantDigest: want, createCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := newRootWith(&out, &errOut, &options{cloud: &cloudauth.Providers{ECR: ecr}})
			args := []string{"once", "-f", manifest, "--insecure-registry", src, "--insecure-registry", dst}
			if tc.dryRun {
				args = append(args, "--dry-run")
			}
			cmd.SetArgs(args)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out.String())
			}
			if got := strings.TrimSpace(errOut.String()); tc.stderr == "" && got != "" || !strings.Contains(got, tc.stderr) {
				t.Errorf("stderr = %q, want %q", got, tc.stderr)
			}
			if aws.HasRepository("mirror/app") != tc.created || aws.Count("CreateRepository") != tc.createCalls {
				t.Errorf("repository created: %v after %d CreateRepository calls, want %v after %d",
					aws.HasRepository("mirror/app"), aws.Count("CreateRepository"), tc.created, tc.createCalls)
			}
			if got := digestAt(t, dst+"/mirror/app:v1", ecrToken); got != tc.wantDigest {
				t.Errorf("destination digest %q, want %q", got, tc.wantDigest)
			}
		})
	}
}

// TestOnceExitStatus checks what decides the status the binaries exit with:
// the error of component-base's cli.RunNoErrOutput, which their main
// functions turn into exit status 1.
func TestOnceExitStatus(t *testing.T) {
	noLogins(t)
	src := startRegistry(t, "", "")
	dst := startRegistry(t, "", "")
	d := push(t, src+"/upstream/app:v1", randomImage(t), nil, authn.Anonymous)
	ok := writeFile(t, "ok.yaml", fmt.Sprintf(manifestTmpl, src, dst, "    - name: app\n      tags: [v1]\n"))
	bad := writeFile(t, "bad.yaml", fmt.Sprintf(manifestTmpl, src, dst, "    - name: app\n      tags: [v1, v9]\n"))
	for _, tc := range []struct {
		file  string
		fails bool
	}{{ok, false}, {bad, true}, {writeFile(t, "invalid.yaml", "kind: ImageSync\napiVersion: portager.portager.io/v1alpha1\nspec: {}\n"), true}} {
		var out, errOut bytes.Buffer
		cmd := newRoot(&out, &errOut)
		cmd.SetArgs([]string{"once", "-f", tc.file, "--insecure-registry", src, "--insecure-registry", dst})
		if err := cli.RunNoErrOutput(cmd); (err != nil) != tc.fails {
			t.Errorf("%s: error %v, want failure %v\n%s%s", filepath.Base(tc.file), err, tc.fails, out.String(), errOut.String())
		}
	}
	if got := digestAt(t, dst+"/mirror/app:v1", authn.Anonymous); got != d {
		t.Errorf("destination digest %q, want %q", got, d)
	}
}

// TestOnceDialPolicy: once applies the engine's dial policy to hosts a
// registry names, as the controller does: a source that redirects its blobs
// to another service on the machine gets a BlockedDestination and no
// connection there. The manifest's own registries, which the user chose,
// are reached wherever their names resolve.
func TestOnceDialPolicy(t *testing.T) {
	noLogins(t)
	canary := nettest.NewCanary(t)
	reg := registrytest.New(t)
	var redirectTo atomic.Pointer[string]
	reg.AddFault(&registrytest.Fault{
		Match: func(r *http.Request) bool {
			return redirectTo.Load() != nil && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
		},
		Times: -1,
		Handle: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, *redirectTo.Load()+"/latest/meta-data/iam/security-credentials/", http.StatusFound)
		},
	})
	src := reg.Host
	dst := startRegistry(t, "", "")
	push(t, src+"/upstream/app:v1", randomImage(t), nil, authn.Anonymous)

	for _, tc := range []struct {
		name     string
		source   string // the manifest's source registry
		redirect string // where blob GETs are sent
		want     string
	}{
		{"a redirect to a loopback service", src, "http://" + canary.Host, "BlockedDestination"},
		{"a redirect to a name resolving to loopback", src, "http://storage.example.com:" + canary.Port, "BlockedDestination"},
	} {
		prefix := fmt.Sprintf("case%d", len(tc.name))
		t.Run(tc.name, func(t *testing.T) {
			n := nettest.New()
			n.Name("storage.example.com", "127.0.0.1")
			redirectTo.Store(&tc.redirect)
			file := writeFile(t, "sync.yaml", strings.Replace(fmt.Sprintf(manifestTmpl, tc.source, dst, "    - name: app\n      tags: [v1]\n"),
				"repositoryPrefix: mirror", "repositoryPrefix: "+prefix, 1))
			var out, errOut bytes.Buffer
			cmd := newRootWith(&out, &errOut, &options{network: n})
			cmd.SetArgs([]string{"once", "-f", file, "--insecure-registry", tc.source, "--insecure-registry", dst, "--registry-timeout", "5s"})
			err := cmd.Execute()
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("err = %v, want %q in the output:\n%s%s", err, tc.want, out.String(), errOut.String())
			}
			if strings.Contains(out.String(), canary.Port) || strings.Contains(out.String(), "canary-metadata-secret") {
				t.Errorf("output names the refused address or its answer:\n%s", out.String())
			}
		})
	}
	if n := canary.Accepted(); n != 0 {
		t.Errorf("canary accepted %d connections", n)
	}
}

// TestOnceReachesItsOwnRegistries: the manifest's registries are reached
// wherever their names resolve, even into the machine, since the user who
// runs once chose them; here a TLS registry named example.com.
func TestOnceReachesItsOwnRegistries(t *testing.T) {
	noLogins(t)
	src := registrytest.New(t, registrytest.WithTLS())
	_, port, _ := net.SplitHostPort(src.Host)
	src.Push("upstream/app:v1", randomImage(t))
	caFile := writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: src.Server.Certificate().Raw})))
	dst := startRegistry(t, "", "")
	// httptest's certificate names example.com; the test network resolves
	// it to loopback.
	n := nettest.New()
	n.Name("example.com", "127.0.0.1")
	file := writeFile(t, "sync.yaml", fmt.Sprintf(manifestTmpl, "example.com:"+port, dst, "    - name: app\n      tags: [v1]\n"))
	var out, errOut bytes.Buffer
	cmd := newRootWith(&out, &errOut, &options{network: n})
	cmd.SetArgs([]string{"once", "-f", file, "--registry-ca-file", caFile, "--insecure-registry", dst})
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "1 copied") {
		t.Fatalf("err = %v, output:\n%s%s", err, out.String(), errOut.String())
	}
}

// TestEngineOptions: the engine's flags reach the engine.
func TestEngineOptions(t *testing.T) {
	oo := &options{}
	cmd := newRootWith(io.Discard, io.Discard, oo)
	if err := cmd.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	sub, _, err := cmd.Find([]string{"once"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.ParseFlags([]string{"--tag-concurrency=2", "--check-concurrency=3", "--blob-concurrency=5", "--registry-concurrency=7", "--registry-timeout=3s"}); err != nil {
		t.Fatal(err)
	}
	opts, err := oo.engineOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.OperationTimeout != 3*time.Second {
		t.Errorf("OperationTimeout = %v, want --registry-timeout's 3s", opts.OperationTimeout)
	}
	if got := [4]int{opts.TagConcurrency, opts.CheckConcurrency, opts.BlobConcurrency, opts.PerRegistryConcurrency}; got != [4]int{2, 3, 5, 7} {
		t.Errorf("tags, checks, blobs, per registry = %v, want [2 3 5 7]", got)
	}
}
