package syncer

import (
	"errors"
	"fmt"
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
