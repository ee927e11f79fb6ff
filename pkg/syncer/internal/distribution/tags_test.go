package distribution

import "testing"

func TestParseNextLink(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		``: "",
		`</v2/a/tags/list?n=2&last=b>; rel="next"`:                      "/v2/a/tags/list?n=2&last=b",
		`<https://r.example/v2/a/tags/list?last=x>; rel=next`:           "https://r.example/v2/a/tags/list?last=x",
		`</prev>; rel="prev", </v2/a/tags/list?last=c>; rel="next"`:     "/v2/a/tags/list?last=c",
		`</v2/a/tags/list?last=c>; type="application/json"; rel="next"`: "/v2/a/tags/list?last=c",
		`</v2/a/tags/list?last=c>; rel="first"`:                         "",
	} {
		if got := parseNextLink(in); got != want {
			t.Errorf("parseNextLink(%q) = %q, want %q", in, got, want)
		}
	}
}
