package version

import "testing"

func TestString(t *testing.T) {
	for _, tc := range []struct {
		info Info
		want string
	}{
		{Info{Version: "devel"}, "devel"},
		{Info{Version: "v0.1.0", Revision: "0123456789abcdef0123"}, "v0.1.0 (commit 0123456789ab)"},
		{Info{Version: "devel", Revision: "abc", Modified: true}, "devel (commit abc, modified)"},
	} {
		if got := tc.info.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.info, got, tc.want)
		}
	}
	if Get().Version == "" {
		t.Error("Get has no version")
	}
}
