package engineoptions

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/portager/portager/pkg/syncer"
)

func TestFlagsReachTheEngine(t *testing.T) {
	o := NewOptions()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--tag-concurrency=2", "--check-concurrency=3", "--blob-concurrency=5", "--registry-concurrency=7",
		"--registry-timeout=3s", "--breaker-threshold=9", "--breaker-cooldown=4s", "--max-listed-tags=11", "--read-memory=128Mi",
		"--min-transfer-rate=512Ki", "--insecure-registry=localhost:5000"}); err != nil {
		t.Fatal(err)
	}
	if errs := o.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	got, err := o.ToEngine()
	if err != nil {
		t.Fatal(err)
	}
	want := syncer.Options{
		RegistryOptions: syncer.RegistryOptions{InsecureHosts: []string{"localhost:5000"}, PerRegistryConcurrency: 7,
			OperationTimeout: 3 * time.Second, BreakerThreshold: 9, BreakerCooldown: 4 * time.Second,
			MaxListedTags: 11, ReadMemory: 128 << 20, MinTransferRate: 512 << 10},
		TagConcurrency: 2, CheckConcurrency: 3, BlobConcurrency: 5,
	}
	if got.TagConcurrency != want.TagConcurrency || got.CheckConcurrency != want.CheckConcurrency || got.BlobConcurrency != want.BlobConcurrency ||
		got.PerRegistryConcurrency != want.PerRegistryConcurrency || got.OperationTimeout != want.OperationTimeout ||
		got.BreakerThreshold != want.BreakerThreshold || got.BreakerCooldown != want.BreakerCooldown ||
		got.MaxListedTags != want.MaxListedTags || got.ReadMemory != want.ReadMemory || got.MinTransferRate != want.MinTransferRate ||
		len(got.InsecureHosts) != 1 {
		t.Errorf("engine options = %+v, want %+v", got, want)
	}
}

func TestDefaultsAreTheEngines(t *testing.T) {
	o := NewOptions()
	got, err := o.ToEngine()
	if err != nil {
		t.Fatal(err)
	}
	d := syncer.DefaultOptions()
	if got.TagConcurrency != d.TagConcurrency || got.PerRegistryConcurrency != d.PerRegistryConcurrency ||
		got.OperationTimeout != d.OperationTimeout || got.ReadMemory != d.ReadMemory || got.MaxListedTags != d.MaxListedTags ||
		got.MinTransferRate != d.MinTransferRate {
		t.Errorf("defaults %+v differ from the engine's %+v", got, d)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tag-concurrency=0"}, "--tag-concurrency must be at least 1"},
		{[]string{"--registry-timeout=0s"}, "--registry-timeout must be positive"},
		{[]string{"--read-memory=1Mi"}, "at least 4Mi"},
		{[]string{"--read-memory=lots"}, "--read-memory"},
		{[]string{"--min-transfer-rate=0"}, "--min-transfer-rate must be at least 1"},
		{[]string{"--min-transfer-rate=fast"}, "--min-transfer-rate"},
		{[]string{"--registry-ca-file=/does/not/exist"}, "--registry-ca-file"},
	} {
		o := NewOptions()
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		errs := o.Validate()
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
			t.Errorf("%v: errors %v, want one with %q", tc.args, errs, tc.want)
		}
	}
}
