package tagselect

import (
	"errors"
	"fmt"
	"regexp"
)

// MaxPatternLength bounds one pattern, so that compiling it stays cheap.
const MaxPatternLength = 256

// ErrInvalidPattern marks a pattern that is not an RE2 regular expression
// or is too long.
var ErrInvalidPattern = errors.New("invalid tag pattern")

// CompilePattern compiles an RE2 pattern that must match a whole tag: "1\.2.*"
// matches "1.2.3" but not "v1.2.3". The pattern is compiled on its own
// first, so that anchoring it cannot change its meaning (an unbalanced
// "a)|(b" is refused rather than wrapped into something that compiles).
func CompilePattern(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > MaxPatternLength {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrInvalidPattern, MaxPatternLength)
	}
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPattern, err)
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPattern, err)
	}
	return re, nil
}

// compileAll compiles patterns with CompilePattern.
func compileAll(patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		re, err := CompilePattern(p)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// matchesAny reports whether tag matches one of res.
func matchesAny(res []*regexp.Regexp, tag string) bool {
	for _, re := range res {
		if re.MatchString(tag) {
			return true
		}
	}
	return false
}
