package plugin

import (
	"bytes"
	"strings"
	"testing"
)

// TestOnceIsMounted checks that `kubectl imagesync once` is the once
// command (tested in pkg/cmd/once), with examples naming the plugin.
func TestOnceIsMounted(t *testing.T) {
	var out, errOut bytes.Buffer
	cmd := NewCommand(&out, &errOut)
	cmd.SetArgs([]string{"once", "--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("once --help: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"validates it exactly as the Portager API server does", "kubectl imagesync once -f base-images.yaml"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}
