package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ResolveTags returns the tags to sync for one image: the explicit tags
// first (in the given order), then the tags in available that satisfy the
// semver constraint, newest first and cut to maxTags (0 = unlimited; maxTags
// applies only to the semver matches). Non-semver tags are skipped silently
// and a leading "v" counts as semver. Duplicates are removed (the first
// occurrence wins). An invalid constraint is an error wrapping
// ErrInvalidConstraint.
func ResolveTags(explicit []string, constraint string, available []string, maxTags int) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, t := range explicit {
		t = strings.TrimSpace(t)
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if strings.TrimSpace(constraint) == "" {
		return out, nil
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return out, fmt.Errorf("%w %q: %w", ErrInvalidConstraint, constraint, err)
	}
	type cand struct {
		tag string
		v   *semver.Version
	}
	var cands []cand
	for _, t := range available {
		if seen[t] {
			continue
		}
		v, err := semver.NewVersion(t)
		if err != nil {
			continue // not semver: skipped silently by contract
		}
		if c.Check(v) {
			seen[t] = true
			cands = append(cands, cand{t, v})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cmp := cands[i].v.Compare(cands[j].v); cmp != 0 {
			return cmp > 0
		}
		// Same version spelled differently (v1.2.3 vs 1.2.3): stable order.
		return cands[i].tag < cands[j].tag
	})
	if maxTags > 0 && len(cands) > maxTags {
		cands = cands[:maxTags]
	}
	for _, c := range cands {
		out = append(out, c.tag)
	}
	return out, nil
}

// ErrInvalidConstraint marks an unparseable semver constraint.
var ErrInvalidConstraint = errors.New("invalid semver constraint")

// maxTagPages bounds pagination so a misbehaving registry cannot loop us.
const maxTagPages = 10000

// listTags reads the full tag list, following RFC 5988 Link headers
// (rel="next") as registries paginate large lists. The list is bounded in
// bytes (MaxTagListBytes over all pages) and in tags (MaxListedTags).
func (c *repoClient) listTags(ctx context.Context) ([]string, error) {
	next := "/v2/" + c.repo + "/tags/list"
	var tags []string
	seen := map[string]bool{}
	budget := c.e.opts.MaxTagListBytes
	for page := 0; next != ""; page++ {
		if page >= maxTagPages || seen[next] {
			return nil, fmt.Errorf("list tags %s: pagination does not terminate", c.repo)
		}
		seen[next] = true
		resp, err := c.do(ctx, call{
			op: "list tags " + c.repo, method: http.MethodGet, url: next,
			accept: []string{"application/json"}, ok: []int{http.StatusOK},
		})
		if err != nil {
			return nil, err
		}
		body := &io.LimitedReader{R: resp.Body, N: budget + 1}
		tags, err = decodeTags(body, tags, c.e.opts.MaxListedTags, c.repo)
		budget -= budget + 1 - body.N
		link := resp.Header.Get("Link")
		resp.Body.Close()
		if budget < 0 {
			return nil, &limitError{reason: ReasonTagListTooLarge,
				what: fmt.Sprintf("list tags %s: larger than %d bytes", c.repo, c.e.opts.MaxTagListBytes)}
		}
		if err != nil {
			var le *limitError
			if errors.As(err, &le) {
				return nil, err
			}
			return nil, fmt.Errorf("list tags %s: decoding response: %w", c.repo, err)
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
