package syncer

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MaxMessageLen bounds every tenant-visible message so that status stays
// small whatever a registry returns.
const MaxMessageLen = 256

const redacted = "[REDACTED]"

type sanitizer struct {
	re   *regexp.Regexp
	repl string
}

// sanitizers cover the ways secrets leak into error strings: HTTP auth
// headers, userinfo in URLs, signed or token-bearing query parameters, JSON
// or key=value credential fields, and bare JWTs. They are compiled on first
// use, not at package initialisation: a run with no failure never needs
// them, and every start of the one-shot CLI would pay for compiling them.
var sanitizers = sync.OnceValue(func() []sanitizer {
	return []sanitizer{
		// Authorization: Bearer xxx / Basic xxx (with or without header name).
		{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/=:]+`), "$1 " + redacted},
		// scheme://user:pass@host
		{regexp.MustCompile(`(?i)([a-z][a-z0-9+.\-]*://)[^/\s@]+@`), "${1}" + redacted + "@"},
		// user:pass@host without a scheme (pasted into a registry field).
		{regexp.MustCompile(`[^\s/@:"'=]+:[^\s/@"']+@`), redacted + "@"},
		// JSON fields: "password":"...", "auth":"...", "identitytoken":"..."
		{regexp.MustCompile(`(?i)("(?:password|passwd|auth|identitytoken|registrytoken|token|access_token|refresh_token|secret|client_secret)"\s*:\s*)"[^"]*"`), `$1"` + redacted + `"`},
		// key=value in queries, forms and logs (token=, password=, X-Amz-Signature=, sig=...).
		{regexp.MustCompile(`(?i)\b(password|passwd|pwd|token|access_token|refresh_token|id_token|secret|client_secret|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|auth)=([^&\s"']+)`), "$1=" + redacted},
		// key: value in header-ish or YAML-ish text.
		{regexp.MustCompile(`(?i)\b(password|passwd|token|secret|authorization|x-registry-auth)\s*:\s*([^\s,;"'}]+)`), "$1: " + redacted},
		// JWTs (three base64url segments starting with eyJ).
		{regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`), redacted},
	}
})

// Sanitize makes msg safe to show to tenants (status, Events, logs,
// metrics): credentials, bearer tokens, basic auth and signed URL
// parameters are redacted, control characters and newlines (which is how
// raw response bodies usually show up) are flattened, and the result is
// bounded to MaxMessageLen bytes of valid UTF-8. It is the one sanitiser
// for every tenant-visible message.
func Sanitize(msg string) string {
	return sanitizeWith(msg, nil)
}

// sanitizeWith additionally removes exact known secret values (the
// passwords and tokens the engine resolved during the run), which catches
// secrets in shapes the patterns do not know.
func sanitizeWith(msg string, secrets []string) string {
	for _, s := range secrets {
		// Very short values would redact ordinary words; real secrets are
		// longer than this.
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, redacted)
		}
	}
	for _, s := range sanitizers() {
		msg = s.re.ReplaceAllString(msg, s.repl)
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
	if len(msg) > MaxMessageLen {
		cut := MaxMessageLen - len("...")
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}

// redactor holds the credential values seen during one Sync (passwords,
// identity tokens, bearer tokens) so they can be removed verbatim from
// messages and log lines, whatever shape they appear in. It lives in the
// run's context, so secrets are not retained by the Engine across runs.
type redactor struct {
	mu      sync.RWMutex
	secrets map[string]struct{}
}

type redactorKey struct{}

func withRedactor(ctx context.Context) context.Context {
	return context.WithValue(ctx, redactorKey{}, &redactor{secrets: map[string]struct{}{}})
}

// rememberSecret records s in the run's redactor (if any).
func rememberSecret(ctx context.Context, s string) {
	r, _ := ctx.Value(redactorKey{}).(*redactor)
	if r == nil || len(s) < 4 {
		return
	}
	r.mu.Lock()
	r.secrets[s] = struct{}{}
	r.mu.Unlock()
}

// sanitizeCtx is Sanitize plus removal of the run's known secret values.
func sanitizeCtx(ctx context.Context, msg string) string {
	r, _ := ctx.Value(redactorKey{}).(*redactor)
	if r == nil {
		return Sanitize(msg)
	}
	r.mu.RLock()
	list := make([]string, 0, len(r.secrets))
	for s := range r.secrets {
		list = append(list, s)
	}
	r.mu.RUnlock()
	return sanitizeWith(msg, list)
}
