package distribution

import (
	"context"
	"io"
	"net/http"

	"github.com/portager/portager/pkg/version"
)

// DefaultUserAgent is the User-Agent the engine sends when its UserAgent
// option is empty: "portager/VERSION", where VERSION is the version of this
// module the binary was built with ("devel" for an unstamped build). Registry
// operators see who is calling, as they do for skopeo or crane, rather than
// a bare Go-http-client.
func DefaultUserAgent() string { return "portager/" + version.Get().Version }

// newRequest builds every request the client sends, registries' and token
// services' alike, so that all of them carry its User-Agent.
func (c *Client) newRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	return req, nil
}
