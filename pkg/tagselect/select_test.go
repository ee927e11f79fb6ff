package tagselect

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const pin = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestSelect(t *testing.T) {
	t.Parallel()
	avail := []string{"latest", "1.0.0", "1.2.0", "v1.2.3", "1.3.0", "1.3.5", "1.4.0-rc.1", "1.4.0", "2.0.0", "2.1.0",
		"nightly", "1.22.1", "1.22.9", "1.23.0", "sha256-abc.sig", "2.1.0-debug", "edge", "2.1.0"}
	tests := []struct {
		name         string
		spec         Spec
		wantExplicit []Explicit
		want         []string
	}{
		{name: "explicit only, order kept, duplicates removed",
			spec:         Spec{Tags: []string{"latest", "1.0.0", "latest"}},
			wantExplicit: []Explicit{{Tag: "latest"}, {Tag: "1.0.0"}}},
		{name: "pinned tag", spec: Spec{Tags: []string{"1.0.0@" + pin, "latest"}},
			wantExplicit: []Explicit{{Tag: "1.0.0", Pin: pin}, {Tag: "latest"}}},
		{name: "wildcard major", spec: Spec{Semver: "1.x"},
			want: []string{"1.23.0", "1.22.9", "1.22.1", "1.4.0", "1.3.5", "1.3.0", "v1.2.3", "1.2.0", "1.0.0"}},
		{name: "range", spec: Spec{Semver: ">=1.22.0 <1.23.0"}, want: []string{"1.22.9", "1.22.1"}},
		{name: "tilde", spec: Spec{Semver: "~1.3.0"}, want: []string{"1.3.5", "1.3.0"}},
		{name: "caret", spec: Spec{Semver: "^2.0.0"}, want: []string{"2.1.0", "2.0.0"}},
		{name: "leading v is semver", spec: Spec{Semver: "~1.2.0"}, want: []string{"v1.2.3", "1.2.0"}},
		{name: "prerelease only when asked", spec: Spec{Semver: ">=1.4.0-0 <1.5.0"}, want: []string{"1.4.0", "1.4.0-rc.1"}},
		{name: "maxTags cuts newest first", spec: Spec{Semver: "*", MaxTags: 3}, want: []string{"2.1.0", "2.0.0", "1.23.0"}},
		{name: "explicit tags are not selected again nor counted",
			spec:         Spec{Tags: []string{"nightly", "2.1.0"}, Semver: "^2", MaxTags: 1},
			wantExplicit: []Explicit{{Tag: "nightly"}, {Tag: "2.1.0"}}, want: []string{"2.0.0"}},
		{name: "no match", spec: Spec{Semver: "^9"}},
		{name: "include alone: semver tags first, then the rest in reverse lexical order",
			spec: Spec{Include: []string{`2\..*`, "latest", "edge", "nightly"}},
			want: []string{"2.1.0", "2.1.0-debug", "2.0.0", "nightly", "latest", "edge"}},
		{name: "include is anchored", spec: Spec{Include: []string{"1.2"}}, want: nil},
		{name: "include and semver: both must hold", spec: Spec{Semver: "1.x", Include: []string{`1\.2.*`, "latest"}},
			want: []string{"1.23.0", "1.22.9", "1.22.1", "1.2.0"}},
		{name: "exclude narrows semver", spec: Spec{Semver: ">=1.3", Exclude: []string{`1\.2[0-9]\..*`, `.*\.0\.0`}},
			want: []string{"2.1.0", "1.4.0", "1.3.5", "1.3.0"}},
		{name: "exclude narrows include", spec: Spec{Include: []string{".*"}, Exclude: []string{`.*\..*`, "latest"}},
			want: []string{"nightly", "edge"}},
		{name: "exclude does not filter explicit tags", spec: Spec{Tags: []string{"latest"}, Exclude: []string{".*"}},
			wantExplicit: []Explicit{{Tag: "latest"}}},
		{name: "maxTags over both kinds", spec: Spec{Include: []string{"2.*", "n.*", "l.*"}, MaxTags: 4},
			want: []string{"2.1.0", "2.1.0-debug", "2.0.0", "nightly"}},
		{name: "a tag listed twice is selected once", spec: Spec{Include: []string{`2\.1\.0`}}, want: []string{"2.1.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Explicit(); !reflect.DeepEqual(got, tc.wantExplicit) {
				t.Errorf("explicit: got %v, want %v", got, tc.wantExplicit)
			}
			got := s.Select(avail)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("selected: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		spec         Spec
		want         error
		wantExplicit []Explicit
	}{
		{"bad constraint keeps explicit tags", Spec{Tags: []string{"latest"}, Semver: ">>>1"}, ErrInvalidConstraint, []Explicit{{Tag: "latest"}}},
		{"bad include", Spec{Include: []string{"("}}, ErrInvalidPattern, nil},
		{"bad exclude", Spec{Semver: "*", Exclude: []string{"[a-"}}, ErrInvalidPattern, nil},
		{"unbalanced pattern that would compile once anchored", Spec{Include: []string{"a)|(b"}}, ErrInvalidPattern, nil},
		{"pattern too long", Spec{Include: []string{strings.Repeat("a", MaxPatternLength+1)}}, ErrInvalidPattern, nil},
		{"pin not sha256", Spec{Tags: []string{"1.0@md5:abc", "latest"}}, ErrInvalidPin, []Explicit{{Tag: "latest"}}},
		{"pin in upper case", Spec{Tags: []string{"1.0@" + strings.ToUpper(pin)}}, ErrInvalidPin, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.spec)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got := s.Explicit(); !reflect.DeepEqual(got, tc.wantExplicit) {
				t.Errorf("explicit: got %v, want %v", got, tc.wantExplicit)
			}
			if got := s.Select([]string{"a", "b", "1.0.0"}); len(got) != 0 {
				t.Errorf("a selection that did not compile selected %v", got)
			}
		})
	}
}

// FuzzSelect: any spec and tag list either compile or are refused with
// one of the package's errors, and a compiled selection never panics,
// never selects a tag that is not in the list, never selects twice and
// respects MaxTags.
func FuzzSelect(f *testing.F) {
	f.Add("1.0.0@"+pin, "^1", `1\..*`, ".*-rc", 2, "1.0.0,1.1.0,latest,1.1.0-rc")
	f.Add("", "", "a)|(b", "", 0, "a,b")
	f.Add("x@", ">=1 <2 || 3.x", ".*", "", 0, "v1.0,3.1,3.1.0,zz")
	f.Fuzz(func(t *testing.T, tag, constraint, include, exclude string, maxTags int, list string) {
		spec := Spec{Tags: []string{tag}, Semver: constraint, MaxTags: maxTags % 100}
		if include != "" {
			spec.Include = []string{include}
		}
		if exclude != "" {
			spec.Exclude = []string{exclude}
		}
		s, err := New(spec)
		if err != nil && !errors.Is(err, ErrInvalidConstraint) && !errors.Is(err, ErrInvalidPattern) && !errors.Is(err, ErrInvalidPin) {
			t.Fatalf("unexpected error %v", err)
		}
		available := strings.Split(list, ",")
		in := map[string]bool{}
		for _, a := range available {
			in[a] = true
		}
		got := s.Select(available)
		seen := map[string]bool{}
		for _, g := range got {
			if !in[g] || seen[g] {
				t.Fatalf("selected %q: in list %v, already selected %v", g, in[g], seen[g])
			}
			seen[g] = true
		}
		if spec.MaxTags > 0 && len(got) > spec.MaxTags {
			t.Fatalf("selected %d, more than maxTags %d", len(got), spec.MaxTags)
		}
	})
}
