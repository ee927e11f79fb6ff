package syncer

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/portager/portager/internal/registrytest"
	"k8s.io/klog/v2"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) add(prefix, args string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintln(&s.b, prefix, args)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCanaryNeverLeaks drives failures that involve credentials (wrong
// password, registry errors echoing the Authorization header and tokens,
// credentials pasted into a registry field) and checks a canary password
// and token appear in no result, error or log line (klog at V(10)).
func TestCanaryNeverLeaks(t *testing.T) {
	t.Parallel()
	const canary = "CANARY-pw-7f3a9c1e"
	const tokenCanary = "TOKCANARY-51d2"
	secrets := []string{canary, b64("pusher:" + canary), b64("reader:" + canary), tokenCanary}

	logs := &syncBuffer{}
	logger := funcr.New(func(prefix, args string) { logs.add(prefix, args) }, funcr.Options{Verbosity: 10})
	ctx := klog.NewContext(context.Background(), logger)

	img, _ := random.Image(500, 1)
	var all []string

	// 1. Basic auth: the destination credential (the canary) is wrong, and
	// the registry echoes the Authorization header in its 500s and 401s.
	reg := registrytest.New(t)
	reg.Push("src/app:1", img)
	reg.Authorize = prefixAuth(map[string][2]string{"src": {"reader", canary}, "dst": {"pusher", "right-pw"}}, map[string]bool{"src": true})
	echo := func(code int) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Basic realm="echo `+r.Header.Get("Authorization")+`"`)
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":"you sent %s","detail":{"password":%q}}]}`, r.Header.Get("Authorization"), canary)
		}
	}
	reg.AddFault(&registrytest.Fault{Match: match(http.MethodGet, "manifest"), Times: 2, Handle: echo(500)})
	reg.AddFault(&registrytest.Fault{Match: matchPath(http.MethodPut, "/manifests/1"), Times: -1, Handle: echo(403)})
	e := newTestEngine(t, nil, reg)
	for _, dstPW := range []string{canary, "right-pw"} {
		res, err := e.Sync(ctx, Request{
			Source:           Endpoint{Registry: reg.Ref("src"), Keychain: dockerConfig(t, reg.Host, "reader", canary)},
			Destination:      Endpoint{Registry: reg.Host, Keychain: dockerConfig(t, reg.Host, "pusher", dstPW)},
			RepositoryPrefix: "dst",
			Images:           []Image{{Name: "app", Tags: []string{"1"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Outcome != OutcomeFailed {
			t.Errorf("dst pw %s: %+v", dstPW, res[0])
		}
		all = append(all, fmt.Sprintf("%+v", res))
	}

	// 2. Token flow: the token is a secret too; the registry rejects pushes
	// echoing it.
	tokReg := registrytest.New(t)
	tokReg.Push("src/app:1", img)
	ts := newTokenServer(t, "robot", canary)
	ts.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, p, _ := r.BasicAuth(); p != canary {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ts.mu.Lock()
		ts.issued[tokenCanary] = strings.Join(r.URL.Query()["scope"], " ")
		ts.mu.Unlock()
		fmt.Fprintf(w, `{"token":%q}`, tokenCanary)
	})
	tokReg.Challenge = fmt.Sprintf(`Bearer realm="%s/token",service="svc"`, ts.srv.URL)
	tokReg.Authorize = ts.allows
	tokReg.AddFault(&registrytest.Fault{Match: match(http.MethodPost, "upload"), Times: -1, Handle: echo(401)})
	e2 := newTestEngine(t, func(o *Options) {
		o.InsecureHosts = append(o.InsecureHosts, strings.TrimPrefix(ts.srv.URL, "http://"))
	}, tokReg)
	res, err := e2.Sync(ctx, Request{
		Source:           Endpoint{Registry: tokReg.Ref("src"), Keychain: dockerConfig(t, tokReg.Host, "robot", canary)},
		Destination:      Endpoint{Registry: tokReg.Host, Keychain: dockerConfig(t, tokReg.Host, "robot", canary)},
		RepositoryPrefix: "dst",
		Images:           []Image{{Name: "app", Tags: []string{"1"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != OutcomeFailed || res[0].Reason != ReasonAuthFailed {
		t.Errorf("token run: %+v", res[0])
	}
	all = append(all, fmt.Sprintf("%+v", res))

	// 3. Credentials pasted into registry fields make an invalid request.
	_, err = e.Sync(ctx, Request{
		Source:      Endpoint{Registry: "https://reader:" + canary + "@" + reg.Host},
		Destination: Endpoint{Registry: "reader:" + canary + "@" + reg.Host},
		Images:      []Image{{Name: "app", Tags: []string{"1"}}},
	})
	if err == nil {
		t.Fatal("want an invalid-request error")
	}
	all = append(all, err.Error())

	logText := logs.String()
	if !strings.Contains(logText, "tag finished") {
		t.Fatalf("log capture did not work:\n%s", logText)
	}
	all = append(all, logText)
	for _, text := range all {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("secret %q leaked in:\n%s", s, text)
			}
		}
	}
}
