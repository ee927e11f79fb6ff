package sanitize

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen bounds every tenant-visible message in bytes, so that status stays
// small whatever a registry returns.
const MaxLen = 256

// Redacted replaces every secret removed from a message.
const Redacted = "[REDACTED]"

// minSecretLen is the shortest known secret value Known removes verbatim:
// shorter values would redact ordinary words, and real secrets are longer.
const minSecretLen = 4

type pattern struct {
	re   *regexp.Regexp
	repl string
}

// patterns cover the ways secrets leak into error strings: HTTP auth
// headers, userinfo in URLs, signed or token-bearing query parameters, JSON
// or key=value credential fields, and bare JWTs.
var patterns = []pattern{
	// Authorization: Bearer xxx / Basic xxx (with or without header name).
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/=:]+`), "$1 " + Redacted},
	// scheme://user:pass@host
	{regexp.MustCompile(`(?i)([a-z][a-z0-9+.\-]*://)[^/\s@]+@`), "${1}" + Redacted + "@"},
	// user:pass@host without a scheme (pasted into a registry field).
	{regexp.MustCompile(`[^\s/@:"'=]+:[^\s/@"']+@`), Redacted + "@"},
	// JSON fields: "password":"...", "auth":"...", "identitytoken":"..."
	{regexp.MustCompile(`(?i)("(?:password|passwd|auth|identitytoken|registrytoken|token|access_token|refresh_token|secret|client_secret)"\s*:\s*)"[^"]*"`), `$1"` + Redacted + `"`},
	// key=value in queries, forms and logs (token=, password=, X-Amz-Signature=, sig=...).
	{regexp.MustCompile(`(?i)\b(password|passwd|pwd|token|access_token|refresh_token|id_token|secret|client_secret|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|auth)=([^&\s"']+)`), "$1=" + Redacted},
	// key: value in header-ish or YAML-ish text.
	{regexp.MustCompile(`(?i)\b(password|passwd|token|secret|authorization|x-registry-auth)\s*:\s*([^\s,;"'}]+)`), "$1: " + Redacted},
	// JWTs (three base64url segments starting with eyJ).
	{regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`), Redacted},
}

// Message returns msg safe to show to tenants: credentials, bearer tokens,
// basic auth and signed URL parameters are redacted, control characters and
// newlines (which is how raw response bodies usually show up) are
// flattened, and the result is bounded to MaxLen bytes of valid UTF-8.
func Message(msg string) string {
	return Known(msg, nil)
}

// Known is Message that also removes the exact secret values given (the
// passwords and tokens a run resolved), which catches secrets in shapes the
// patterns do not know.
func Known(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			msg = strings.ReplaceAll(msg, s, Redacted)
		}
	}
	for _, p := range patterns {
		msg = p.re.ReplaceAllString(msg, p.repl)
	}
	msg = strings.Map(func(r rune) rune {
		if r == utf8.RuneError {
			return -1
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, msg)
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > MaxLen {
		cut := MaxLen - len("...")
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}
