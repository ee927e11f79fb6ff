package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMessage(t *testing.T) {
	t.Parallel()
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyb2JvdCJ9.c2lnbmF0dXJl"
	tests := []struct {
		name, in string
		secrets  []string // must not survive
		keep     []string // must survive
	}{
		{"bearer header", "GET failed: Authorization: Bearer abc.def-ghi_123", []string{"abc.def-ghi_123"}, []string{"GET failed"}},
		{"basic header", "sent Basic dXNlcjpodW50ZXIy to registry", []string{"dXNlcjpodW50ZXIy"}, []string{"to registry"}},
		{"userinfo", "dial https://robot:hunter2@registry.example.com/v2/", []string{"hunter2", "robot:"}, []string{"registry.example.com/v2/"}},
		{"userinfo without scheme", `invalid repository "robot:hunter2@registry.example.com/app"`, []string{"hunter2", "robot:"}, []string{"registry.example.com/app"}},
		{"query token", "GET https://s3.example.com/blob?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA123&x=1", []string{"deadbeef", "AKIA123"}, []string{"s3.example.com", "x=1"}},
		{"json fields", `{"username":"u","password":"hunter2","auth":"dTpodW50ZXIy","identitytoken":"idtok"}`, []string{"hunter2", "dTpodW50ZXIy", "idtok"}, []string{`"username":"u"`}},
		{"key value", "login failed password=hunter2 token: tok123", []string{"hunter2", "tok123"}, []string{"login failed"}},
		{"jwt", "token " + jwt + " rejected", []string{jwt, "eyJzdWIiOiJyb2JvdCJ9"}, []string{"rejected"}},
		{"digest kept", "blob sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef missing", nil, []string{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
		{"raw body flattened", "503:\n<html>\n<body>down</body>\r\n</html>", []string{"\n", "\r"}, []string{"down"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Message(tc.in)
			for _, s := range tc.secrets {
				if strings.Contains(got, s) {
					t.Errorf("Message(%q) = %q still contains %q", tc.in, got, s)
				}
			}
			for _, k := range tc.keep {
				if !strings.Contains(got, k) {
					t.Errorf("Message(%q) = %q lost %q", tc.in, got, k)
				}
			}
		})
	}
}

func TestBounds(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 1000) // 2 bytes each: the cut must not split a rune
	got := Message(long)
	if len(got) > MaxLen || !utf8.ValidString(got) || !strings.HasSuffix(got, "...") {
		t.Errorf("len %d valid %v", len(got), utf8.ValidString(got))
	}
	if got := Message("short"); got != "short" {
		t.Errorf("short message changed: %q", got)
	}
}

func TestKnown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"a known value in a shape no pattern knows", "weird secret shape: [[CANARY-PW]]", []string{"CANARY-PW"}, "weird secret shape: [[" + Redacted + "]]"},
		{"another run's value is no secret here", "[[CANARY-PW]]", nil, "[[CANARY-PW]]"},
		{"values too short to be secrets are kept", "a b abc", []string{"a", "abc"}, "a b abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Known(tc.in, tc.secrets); got != tc.want {
				t.Errorf("Known(%q, %q) = %q, want %q", tc.in, tc.secrets, got, tc.want)
			}
		})
	}
}
