package syncer

import (
	"context"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
)

// modulePath is this module's import path, looked up in the build info to
// name the version that was built.
const modulePath = "github.com/portager/portager"

// DefaultUserAgent is the User-Agent the engine sends when Options.UserAgent
// is empty: "portager/VERSION", where VERSION is the version of this module
// the binary was built with ("devel" for an unstamped build). Registry
// operators see who is calling, as they do for skopeo or crane, rather than
// a bare Go-http-client.
func DefaultUserAgent() string { return defaultUserAgent() }

var defaultUserAgent = sync.OnceValue(func() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		// Our own binaries, or a program that imports the engine.
		mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
		for _, m := range mods {
			if m.Path == modulePath && m.Version != "" && m.Version != "(devel)" {
				v = m.Version
				break
			}
		}
	}
	return "portager/" + v
})

// newRequest builds every request the engine sends, registries' and token
// services' alike, so that all of them carry its User-Agent.
func (e *Engine) newRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", e.opts.UserAgent)
	return req, nil
}
