package syncer

import (
	"crypto/x509"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/portager/portager/internal/registrytest"
)

// TestTLSVerification: TLS is verified by default (an unknown CA fails as
// TLSFailed, deterministically), extra CAs come from RootCAs, and plain HTTP
// is used only for hosts explicitly listed as insecure.
func TestTLSVerification(t *testing.T) {
	t.Parallel()
	tlsReg := registrytest.New(t, registrytest.WithTLS())
	tlsHost := tlsReg.Host
	img, _ := random.Image(300, 1)
	tlsReg.Push("app:1", img)
	pool := x509.NewCertPool()
	pool.AddCert(tlsReg.Server.Certificate())

	plain := registrytest.New(t)
	dst := registrytest.New(t)

	tests := []struct {
		name       string
		src        string
		opts       Options
		wantReason string
	}{
		{"unknown CA", tlsHost, Options{RegistryOptions: RegistryOptions{InsecureHosts: []string{dst.Host}}}, ReasonTLSFailed},
		{"RootCAs", tlsHost, Options{RegistryOptions: RegistryOptions{InsecureHosts: []string{dst.Host}, RootCAs: pool}}, ReasonCopied},
		// Listing a TLS host as insecure means plain HTTP, never "skip verify".
		{"plain HTTP to a TLS host", tlsHost, Options{RegistryOptions: RegistryOptions{InsecureHosts: []string{dst.Host, tlsHost}}}, ReasonRegistryError},
		// A plain-HTTP registry that is not opted in is spoken to over TLS,
		// and that is a configuration error, not retried.
		{"no silent HTTP fallback", plain.Host, Options{RegistryOptions: RegistryOptions{InsecureHosts: []string{dst.Host}}}, ReasonTLSFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.RetryBackoff = 1
			e, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			plain.Reset()
			r := mustSync(t, e, Request{
				Source: Endpoint{Registry: tc.src}, Destination: Endpoint{Registry: dst.Host},
				RepositoryPrefix: prefixOf(tc.name),
				Images:           []Image{{Name: "app", Tags: []string{"1"}}},
			})[0]
			if r.Reason != tc.wantReason {
				t.Fatalf("result = %+v, want reason %s", r, tc.wantReason)
			}
			if tc.wantReason == ReasonCopied && dst.DigestOf(prefixOf(tc.name)+"/app:1") != mustDigest(t, img) {
				t.Errorf("not copied")
			}
			if tc.wantReason == ReasonTLSFailed && r.Transient {
				t.Errorf("TLS failure marked transient")
			}
			if n := len(plain.Requests()); n != 0 {
				t.Errorf("plain registry got %d HTTP requests", n)
			}
		})
	}
}

// TestPerRegistryConcurrency: in-flight requests per registry host never
// exceed PerRegistryConcurrency, however many tags and blobs run at once.
func TestPerRegistryConcurrency(t *testing.T) {
	t.Parallel()
	src := registrytest.New(t)
	dst := registrytest.New(t)
	var tags []string
	for _, tag := range []string{"a", "b", "c", "d", "e", "f"} {
		img, _ := random.Image(2000, 4)
		src.Push("app:"+tag, img)
		tags = append(tags, tag)
	}
	peaks := map[*registrytest.Registry]*atomic.Int64{}
	for _, reg := range []*registrytest.Registry{src, dst} {
		var inflight, peak atomic.Int64
		peaks[reg] = &peak
		reg.SetHook(func(*http.Request) func() {
			n := inflight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			return func() { inflight.Add(-1) }
		})
	}
	src.Reset()
	e := newTestEngine(t, func(o *Options) {
		o.TagConcurrency = 6
		o.BlobConcurrency = 4
		o.PerRegistryConcurrency = 2
	}, src, dst)
	res := mustSync(t, e, Request{
		Source: Endpoint{Registry: src.Host}, Destination: Endpoint{Registry: dst.Host},
		Images: []Image{{Name: "app", Tags: tags}},
	})
	for _, r := range res {
		if r.Outcome != OutcomeCopied {
			t.Fatalf("%+v", r)
		}
	}
	for reg, peak := range peaks {
		if p := peak.Load(); p > 2 || p < 1 {
			t.Errorf("peak in-flight requests at %s = %d, want <= 2", reg.Host, p)
		} else {
			t.Logf("peak in-flight requests at %s = %d", reg.Host, p)
		}
	}
}

func prefixOf(testName string) string {
	return strings.ToLower(strings.ReplaceAll(testName, " ", "-"))
}
