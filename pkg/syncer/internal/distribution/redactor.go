package distribution

import (
	"context"
	"sync"

	"github.com/portager/portager/pkg/sanitize"
)

// redactor holds the credential values seen during one Sync (passwords,
// identity tokens, bearer tokens) so they can be removed verbatim from
// messages and log lines, whatever shape they appear in. It lives in the
// run's context, so secrets are not retained by the Client across runs.
type redactor struct {
	mu      sync.RWMutex
	secrets map[string]struct{}
}

type redactorKey struct{}

// WithRedactor gives the run whose requests ctx carries a redactor of its
// own: the credentials its requests use are removed from what Sanitize
// returns.
func WithRedactor(ctx context.Context) context.Context {
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

// Sanitize is sanitize.Message plus removal of the run's known secret values.
func Sanitize(ctx context.Context, msg string) string {
	r, _ := ctx.Value(redactorKey{}).(*redactor)
	if r == nil {
		return sanitize.Message(msg)
	}
	r.mu.RLock()
	list := make([]string, 0, len(r.secrets))
	for s := range r.secrets {
		list = append(list, s)
	}
	r.mu.RUnlock()
	return sanitize.Known(msg, list)
}
