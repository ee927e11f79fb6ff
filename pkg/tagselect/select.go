package tagselect

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ErrInvalidConstraint marks an unparseable semver constraint.
var ErrInvalidConstraint = errors.New("invalid semver constraint")

// Spec is one image's selection as the API states it.
type Spec struct {
	// Tags are explicit tags, "TAG" or "TAG@sha256:HEX".
	Tags []string
	// Semver, Include and Exclude select from the tag list; a tag must
	// satisfy Semver (if set), match one of Include (if any) and match
	// none of Exclude.
	Semver           string
	Include, Exclude []string
	// MaxTags caps what the tag list rules select (0: no cap).
	MaxTags int
}

// Explicit is one explicit tag; Pin, if set, is the digest the source tag
// must resolve to.
type Explicit struct {
	Tag, Pin string
}

// Selector is a compiled Spec.
type Selector struct {
	explicit         []Explicit
	constraint       *semver.Constraints
	include, exclude []*regexp.Regexp
	maxTags          int
}

// New compiles spec. The explicit tags are kept even when a rule does not
// compile, so that the caller can still sync them and report the rule's
// error: the error wraps ErrInvalidConstraint, ErrInvalidPattern or
// ErrInvalidPin, and the returned Selector then selects nothing from the
// tag list. An entry with an invalid pin is left out.
func New(spec Spec) (*Selector, error) {
	s := &Selector{maxTags: spec.MaxTags}
	var errs []error
	seen := map[string]bool{}
	for _, entry := range spec.Tags {
		tag, pin, err := ParseTag(strings.TrimSpace(entry))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if tag != "" && !seen[tag] {
			seen[tag] = true
			s.explicit = append(s.explicit, Explicit{Tag: tag, Pin: pin})
		}
	}
	rules := &Selector{}
	var err error
	if c := strings.TrimSpace(spec.Semver); c != "" {
		if rules.constraint, err = semver.NewConstraint(c); err != nil {
			errs = append(errs, fmt.Errorf("%w %q: %w", ErrInvalidConstraint, c, err))
		}
	}
	if rules.include, err = compileAll(spec.Include); err != nil {
		errs = append(errs, fmt.Errorf("include %w", err))
	}
	if rules.exclude, err = compileAll(spec.Exclude); err != nil {
		errs = append(errs, fmt.Errorf("exclude %w", err))
	}
	if len(errs) > 0 {
		return s, errors.Join(errs...)
	}
	s.constraint, s.include, s.exclude = rules.constraint, rules.include, rules.exclude
	return s, nil
}

// Explicit returns the explicit tags, in the order given, without
// duplicates (the first entry of a tag wins).
func (s *Selector) Explicit() []Explicit { return s.explicit }

// ListsTags reports whether the selection needs the repository's tag list:
// it has a semver constraint or include patterns. Exclude patterns alone
// narrow nothing.
func (s *Selector) ListsTags() bool { return s.constraint != nil || len(s.include) > 0 }

// Select returns the tags of available that the tag list rules pick and
// that are not explicit tags: semver tags first, newest first (the same
// version spelled differently, as v1.2.3 and 1.2.3, in lexical order),
// then the tags that are not semver in reverse lexical order, cut to
// MaxTags. With a semver constraint, tags that are not semver are not
// selected. A leading "v" counts as semver.
func (s *Selector) Select(available []string) []string {
	if !s.ListsTags() {
		return nil
	}
	type versioned struct {
		tag string
		v   *semver.Version
	}
	var withVersion []versioned
	var plain []string
	taken := map[string]bool{}
	for _, e := range s.explicit {
		taken[e.Tag] = true
	}
	for _, t := range available {
		if taken[t] || (len(s.include) > 0 && !matchesAny(s.include, t)) || matchesAny(s.exclude, t) {
			continue
		}
		taken[t] = true
		v, err := semver.NewVersion(t)
		switch {
		case err == nil && (s.constraint == nil || s.constraint.Check(v)):
			withVersion = append(withVersion, versioned{t, v})
		case err != nil && s.constraint == nil:
			plain = append(plain, t)
		}
	}
	slices.SortFunc(withVersion, func(a, b versioned) int {
		if c := b.v.Compare(a.v); c != 0 {
			return c
		}
		return strings.Compare(a.tag, b.tag)
	})
	slices.SortFunc(plain, func(a, b string) int { return strings.Compare(b, a) })
	out := make([]string, 0, len(withVersion)+len(plain))
	for _, c := range withVersion {
		out = append(out, c.tag)
	}
	out = append(out, plain...)
	if s.maxTags > 0 && len(out) > s.maxTags {
		out = out[:s.maxTags]
	}
	return out
}
