// Package dockerconfigtest installs Docker credential helpers for tests:
// real programs on PATH that speak docker's helper protocol, so the code
// under test runs them exactly as it runs docker-credential-ecr-login or
// osxkeychain.
package dockerconfigtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// helperScript answers `get`: it reads a server URL on standard input and
// prints its credentials from $HELPER_DIR/creds/<server with / and : as _>,
// or docker's "not found" message. Every call is logged to
// $HELPER_DIR/calls.
const helperScript = `#!/bin/sh
[ "$1" = get ] || exit 3
read server
echo "$server" >> "$HELPER_DIR/calls"
f="$HELPER_DIR/creds/$(printf %s "$server" | tr '/:' '__')"
if [ -f "$f" ]; then cat "$f"; exit 0; fi
echo "credentials not found in native keychain"
exit 1
`

// brokenScript fails as a helper with a locked keychain does, and echoes
// Canary, which no message may carry.
const brokenScript = `#!/bin/sh
echo "keychain locked; last token was ` + Canary + `"
exit 2
`

// Canary is what docker-credential-broken prints.
const Canary = "HELPER-CANARY"

// Helpers are docker-credential-test, which answers from a fixed table,
// and docker-credential-broken, which always fails.
type Helpers struct{ dir string }

// Install puts the helpers on PATH for the rest of t (so t cannot run in
// parallel). creds maps a server URL, as the helper is asked for it, to
// its JSON answer, e.g. {"Username":"u","Secret":"p"}.
func Install(t *testing.T, creds map[string]string) *Helpers {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "creds"), 0o700); err != nil {
		t.Fatal(err)
	}
	for server, answer := range creds {
		f := filepath.Join(dir, "creds", strings.NewReplacer("/", "_", ":", "_").Replace(server))
		if err := os.WriteFile(f, []byte(answer), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, script := range map[string]string{"test": helperScript, "broken": brokenScript} {
		if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("HELPER_DIR", dir)
	return &Helpers{dir: dir}
}

// Calls returns the server URLs docker-credential-test was asked for, in
// order.
func (h *Helpers) Calls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.dir, "calls"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}
