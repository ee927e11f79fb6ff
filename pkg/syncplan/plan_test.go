package syncplan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/gate"
	"github.com/portager/portager/pkg/syncer"
)

func TestRequest(t *testing.T) {
	cases := []struct {
		name      string
		images    []v1alpha1.ImageSpec
		want      []syncer.Image
		platforms []string // spec.platforms
	}{
		{"one per image", []v1alpha1.ImageSpec{{Name: "alpine", Tags: []string{"3.21"}}, {Name: "go", Semver: "^1.22", MaxTags: 2}},
			[]syncer.Image{{Name: "alpine", Tags: []string{"3.21"}}, {Name: "go", Semver: "^1.22", MaxTags: 2}}, nil},
		{"same image merged", []v1alpha1.ImageSpec{{Name: "go", Tags: []string{"latest"}}, {Name: "go", Semver: "~1.22.0", MaxTags: 1}},
			[]syncer.Image{{Name: "go", Tags: []string{"latest"}, Semver: "~1.22.0", MaxTags: 1}}, nil},
		{"two constraints joined", []v1alpha1.ImageSpec{{Name: "go", Semver: "~1.21.0", MaxTags: 1}, {Name: "go", Semver: "~1.22.0", MaxTags: 2}},
			[]syncer.Image{{Name: "go", Semver: "~1.21.0 || ~1.22.0", MaxTags: 3}}, nil},
		{"unlimited wins", []v1alpha1.ImageSpec{{Name: "go", Semver: "~1.21.0", MaxTags: 1}, {Name: "go", Semver: "~1.22.0"}},
			[]syncer.Image{{Name: "go", Semver: "~1.21.0 || ~1.22.0", MaxTags: 0}}, nil},
		{"spec platforms for every image, an image's own instead",
			[]v1alpha1.ImageSpec{{Name: "alpine", Tags: []string{"3.21"}}, {Name: "go", Tags: []string{"1.24"}, Platforms: []string{"linux/s390x"}}},
			[]syncer.Image{{Name: "alpine", Tags: []string{"3.21"}, Platforms: []string{"linux/amd64", "linux/arm64"}},
				{Name: "go", Tags: []string{"1.24"}, Platforms: []string{"linux/s390x"}}},
			[]string{"linux/amd64", "linux/arm64"}},
		{"same image with the same platforms merged",
			[]v1alpha1.ImageSpec{{Name: "go", Tags: []string{"1.24"}}, {Name: "go", Tags: []string{"1.23"}, Platforms: []string{"linux/amd64"}}},
			[]syncer.Image{{Name: "go", Tags: []string{"1.24", "1.23"}, Platforms: []string{"linux/amd64"}}},
			[]string{"linux/amd64"}},
		{"same image with other platforms kept apart",
			[]v1alpha1.ImageSpec{{Name: "go", Tags: []string{"1.24"}}, {Name: "go", Tags: []string{"1.23"}, Digests: []string{"sha256:" + strings.Repeat("a", 64)}, Platforms: []string{"linux/arm64"}}},
			[]syncer.Image{{Name: "go", Tags: []string{"1.24"}}, {Name: "go", Tags: []string{"1.23"}, Digests: []string{"sha256:" + strings.Repeat("a", 64)}, Platforms: []string{"linux/arm64"}}},
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := &v1alpha1.ImageSyncSpec{
				Source:      v1alpha1.SourceRegistry{Registry: "docker.io/library"},
				Destination: v1alpha1.DestinationRegistry{Registry: "harbor.example.com", RepositoryPrefix: "mirror"},
				Images:      tc.images,
				Platforms:   tc.platforms,
			}
			got, err := Request(spec, Credentials{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Source.Registry != "docker.io/library" || got.Destination.Registry != "harbor.example.com" || got.RepositoryPrefix != "mirror" {
				t.Fatalf("endpoints = %+v", got)
			}
			for i := range got.Images {
				if len(got.Images[i].Tags) == 0 {
					got.Images[i].Tags = nil
				}
			}
			if !reflect.DeepEqual(got.Images, tc.want) {
				t.Fatalf("images = %+v, want %+v", got.Images, tc.want)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	no := false
	cases := []struct {
		name string
		v    *v1alpha1.ValidationSpec
		want gate.Policy
	}{
		{"no validation", nil, gate.Policy{}},
		{"gates present but disabled", &v1alpha1.ValidationSpec{
			Cosign: &v1alpha1.CosignValidation{PublicKey: "k"}, SBOMGate: &v1alpha1.SBOMGate{},
			VulnerabilityGate: &v1alpha1.VulnerabilityGate{MaxSeverity: v1alpha1.SeverityLow}}, gate.Policy{}},
		{"cosign with a key", &v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{Enabled: true, PublicKey: "k"}},
			gate.Policy{Cosign: &gate.CosignPolicy{PublicKey: "k"}}},
		{"keyless", &v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{Enabled: true, KeylessIssuer: "https://issuer", KeylessIdentityRegexp: ".*"}},
			gate.Policy{Cosign: &gate.CosignPolicy{KeylessIssuer: "https://issuer", KeylessIdentityRegexp: ".*"}}},
		{"sbom", &v1alpha1.ValidationSpec{SBOMGate: &v1alpha1.SBOMGate{Enabled: true}}, gate.Policy{RequireSBOM: true}},
		{"vulnerability: requireCveReport defaults to true", &v1alpha1.ValidationSpec{VulnerabilityGate: &v1alpha1.VulnerabilityGate{Enabled: true, MaxSeverity: v1alpha1.SeverityHigh}},
			gate.Policy{Vulnerability: &gate.VulnerabilityPolicy{MaxSeverity: v1alpha1.SeverityHigh, RequireReport: true}}},
		{"vulnerability: reports optional", &v1alpha1.ValidationSpec{VulnerabilityGate: &v1alpha1.VulnerabilityGate{Enabled: true, MaxSeverity: v1alpha1.SeverityCritical, RequireCveReport: &no}},
			gate.Policy{Vulnerability: &gate.VulnerabilityPolicy{MaxSeverity: v1alpha1.SeverityCritical}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Policy(tc.v); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Policy = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRequestGate: a request gets a Gate exactly when a gate is enabled,
// and a key that cannot be parsed is an error, not an ungated request.
func TestRequestGate(t *testing.T) {
	spec := func(v *v1alpha1.ValidationSpec) *v1alpha1.ImageSyncSpec {
		return &v1alpha1.ImageSyncSpec{
			Source:      v1alpha1.SourceRegistry{Registry: "docker.io/library"},
			Destination: v1alpha1.DestinationRegistry{Registry: "harbor.example.com"},
			Images:      []v1alpha1.ImageSpec{{Name: "alpine", Tags: []string{"3.21"}}},
			Validation:  v,
		}
	}
	if req, err := Request(spec(nil), Credentials{}); err != nil || req.Gate != nil {
		t.Fatalf("no validation: gate %v, err %v", req.Gate != nil, err)
	}
	if req, err := Request(spec(&v1alpha1.ValidationSpec{SBOMGate: &v1alpha1.SBOMGate{Enabled: true}}), Credentials{}); err != nil || req.Gate == nil {
		t.Fatalf("sbomGate: gate %v, err %v", req.Gate != nil, err)
	}
	_, err := Request(spec(&v1alpha1.ValidationSpec{Cosign: &v1alpha1.CosignValidation{Enabled: true, PublicKey: "not a key"}}), Credentials{})
	if err == nil || !strings.Contains(err.Error(), "spec.validation") {
		t.Fatalf("unreadable key: err %v", err)
	}
}
