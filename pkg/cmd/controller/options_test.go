package controller

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestConcurrencyFlags checks that the concurrency flags reach the engine
// and that values the engine cannot run with are refused with the flag's
// name.
func TestConcurrencyFlags(t *testing.T) {
	tests := []struct {
		name                   string
		args                   []string
		tags, checks, registry int
		wantErr                string
	}{
		{name: "defaults", tags: 16, checks: 64, registry: 8},
		{name: "set", args: []string{"--tag-concurrency=4", "--check-concurrency=5", "--registry-concurrency=3"}, tags: 4, checks: 5, registry: 3},
		{name: "deprecated name still works", args: []string{"--per-registry-concurrency=2"}, tags: 16, checks: 64, registry: 2},
		{name: "zero checks", args: []string{"--check-concurrency=0"}, wantErr: "--check-concurrency must be at least 1"},
		{name: "negative tags", args: []string{"--tag-concurrency=-1"}, wantErr: "--tag-concurrency must be at least 1"},
		{name: "zero requests", args: []string{"--registry-concurrency=0"}, wantErr: "--registry-concurrency must be at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
			fs.SetOutput(io.Discard) // the deprecation warning
			o.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			opts, err := o.Engine.ToEngine()
			if err != nil {
				t.Fatal(err)
			}
			if opts.TagConcurrency != tc.tags || opts.CheckConcurrency != tc.checks || opts.PerRegistryConcurrency != tc.registry {
				t.Errorf("engine options: tags %d, checks %d, per registry %d; want %d, %d, %d",
					opts.TagConcurrency, opts.CheckConcurrency, opts.PerRegistryConcurrency, tc.tags, tc.checks, tc.registry)
			}
		})
	}
}

// TestStrayArgumentsAreRefused: an argument the command does not take is an
// error, before any client is built.
func TestStrayArgumentsAreRefused(t *testing.T) {
	cmd := NewCommand(context.Background())
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"version"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), `unknown command "version"`) {
		t.Fatalf("err = %v, want the argument refused", err)
	}
}
