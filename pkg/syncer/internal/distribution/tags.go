package distribution

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxTagPages bounds pagination so a misbehaving registry cannot loop us.
const maxTagPages = 10000

// ListTags reads the full tag list, following RFC 5988 Link headers
// (rel="next") as registries paginate large lists. The list is bounded in
// bytes (MaxTagListBytes over all pages) and in tags (MaxListedTags).
func (r *Repository) ListTags(ctx context.Context) ([]string, error) {
	next := "/v2/" + r.repo + "/tags/list"
	var tags []string
	seen := map[string]bool{}
	budget := r.client.cfg.MaxTagListBytes
	for page := 0; next != ""; page++ {
		if page >= maxTagPages || seen[next] {
			return nil, fmt.Errorf("list tags %s: pagination does not terminate", r.repo)
		}
		seen[next] = true
		resp, err := r.do(ctx, call{
			op: "list tags " + r.repo, method: http.MethodGet, url: next,
			accept: []string{"application/json"}, ok: []int{http.StatusOK},
		})
		if err != nil {
			return nil, err
		}
		body := &io.LimitedReader{R: resp.Body, N: budget + 1}
		tags, err = decodeTags(body, tags, r.client.cfg.MaxListedTags, r.repo)
		budget -= budget + 1 - body.N
		link := resp.Header.Get("Link")
		resp.Body.Close()
		if budget < 0 {
			return nil, &LimitError{Reason: ReasonTagListTooLarge,
				What: fmt.Sprintf("list tags %s: larger than %d bytes", r.repo, r.client.cfg.MaxTagListBytes)}
		}
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return nil, err
			}
			return nil, fmt.Errorf("list tags %s: decoding response: %w", r.repo, err)
		}
		next = parseNextLink(link)
	}
	return tags, nil
}

// parseNextLink extracts the URL of rel="next" from a Link header.
func parseNextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, "<") {
			continue
		}
		end := strings.Index(part, ">")
		if end < 0 {
			continue
		}
		u := part[1:end]
		for _, p := range strings.Split(part[end+1:], ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "rel") && strings.EqualFold(strings.Trim(v, `"`), "next") {
				return u
			}
		}
	}
	return ""
}
