package distribution

import (
	"context"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	t.Parallel()
	ctx := WithRedactor(context.Background())
	rememberSecret(ctx, "CANARY-PW")
	if got := Sanitize(ctx, "weird secret shape: [[CANARY-PW]]"); strings.Contains(got, "CANARY-PW") {
		t.Errorf("known secret survived: %q", got)
	}
	if got := Sanitize(context.Background(), "[[CANARY-PW]]"); got != "[[CANARY-PW]]" {
		t.Errorf("another run's secret affected this one: %q", got)
	}
	if got := Sanitize(ctx, "Authorization: Bearer abc.def"); strings.Contains(got, "abc.def") {
		t.Errorf("the patterns did not apply with a redactor: %q", got)
	}
}
