package server

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStrayArgumentsStartNothing: an argument the command does not take is
// refused before anything starts; in particular no embedded etcd writes a
// data directory.
func TestStrayArgumentsStartNothing(t *testing.T) {
	dir := t.TempDir()
	o := NewOptions(io.Discard, io.Discard)
	cmd := NewCommand(context.Background(), o)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"version", "--etcd-data-dir", filepath.Join(dir, "etcd")})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), `unknown command "version"`) {
		t.Fatalf("err = %v, want the argument refused", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the refused command still wrote %d entries, e.g. %s", len(entries), entries[0].Name())
	}
}
