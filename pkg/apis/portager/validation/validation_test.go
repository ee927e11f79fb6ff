package validation

import (
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/portager/portager/internal/cosigntest"
	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/pkg/apis/portager"
)

// newImageSync returns the shared valid ImageSync, mirroring to ECR with
// one semver-selected image besides alpine, changed by the given mutations.
func newImageSync(mutate ...func(*portager.ImageSync)) *portager.ImageSync {
	return imagesynctest.NewInternal("default", "base-images", append([]func(*portager.ImageSync){func(is *portager.ImageSync) {
		is.Spec.Destination.Registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
		is.Spec.Destination.Auth = portager.DestinationAuth{Method: portager.AuthMethodECR}
		is.Spec.Images = append(is.Spec.Images, portager.ImageSpec{Name: "nginx", Semver: ">=1.27 <1.28", MaxTags: 3})
	}}, mutate...)...)
}

func publicKeyPEM(t testing.TB) string { return cosigntest.NewKey(t).PublicPEM }

func withCosign(c portager.CosignValidation) func(*portager.ImageSync) {
	return func(is *portager.ImageSync) {
		is.Spec.Validation = &portager.ValidationSpec{Cosign: &c}
	}
}

func tags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("v%d", i)
	}
	return out
}

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestValidateImageSync(t *testing.T) {
	key := publicKeyPEM(t)
	cases := []struct {
		name   string
		mutate func(*portager.ImageSync)
		// want is the field path and error type of every expected error; none means valid.
		want []string
	}{
		{"valid", func(is *portager.ImageSync) {}, nil},
		{"valid five-field cron", func(is *portager.ImageSync) { is.Spec.Schedule = "0 */6 * * *" }, nil},
		{"valid descriptor", func(is *portager.ImageSync) { is.Spec.Schedule = "@hourly" }, nil},
		{"valid registry with port", func(is *portager.ImageSync) { is.Spec.Source.Registry = "127.0.0.1:5000/org/team" }, nil},
		{"valid IPv6 registry", func(is *portager.ImageSync) { is.Spec.Source.Registry = "[::1]:5000" }, nil},
		{"valid secret method", func(is *portager.ImageSync) {
			is.Spec.Destination.Auth = portager.DestinationAuth{Method: portager.AuthMethodSecret, SecretRef: &portager.SecretReference{Name: "push-creds"}}
		}, nil},
		{"valid cosign key", withCosign(portager.CosignValidation{Enabled: true, PublicKey: key}), nil},
		{"valid cosign keyless", withCosign(portager.CosignValidation{Enabled: true, KeylessIssuer: "https://token.actions.githubusercontent.com", KeylessIdentityRegexp: "^https://github.com/org/"}), nil},
		{"disabled cosign needs no issuer", withCosign(portager.CosignValidation{Enabled: false}), nil},
		{"semver only image", func(is *portager.ImageSync) { is.Spec.Images = []portager.ImageSpec{{Name: "go", Semver: "1.x"}} }, nil},

		{"valid timeout", func(is *portager.ImageSync) { is.Spec.Timeout = &metav1.Duration{Duration: 30 * time.Minute} }, nil},
		{"timeout too short", func(is *portager.ImageSync) { is.Spec.Timeout = &metav1.Duration{Duration: time.Millisecond} }, []string{"spec.timeout:Invalid"}},
		{"timeout negative", func(is *portager.ImageSync) { is.Spec.Timeout = &metav1.Duration{Duration: -time.Hour} }, []string{"spec.timeout:Invalid"}},
		{"timeout over a day", func(is *portager.ImageSync) { is.Spec.Timeout = &metav1.Duration{Duration: 25 * time.Hour} }, []string{"spec.timeout:Invalid"}},

		{"schedule required", func(is *portager.ImageSync) { is.Spec.Schedule = "" }, []string{"spec.schedule:Required"}},
		{"schedule garbage", func(is *portager.ImageSync) { is.Spec.Schedule = "every day" }, []string{"spec.schedule:Invalid"}},
		{"schedule six fields refused", func(is *portager.ImageSync) { is.Spec.Schedule = "0 0 */6 * * *" }, []string{"spec.schedule:Invalid"}},
		{"schedule minute out of range", func(is *portager.ImageSync) { is.Spec.Schedule = "61 * * * *" }, []string{"spec.schedule:Invalid"}},
		{"schedule unknown descriptor", func(is *portager.ImageSync) { is.Spec.Schedule = "@fortnightly" }, []string{"spec.schedule:Invalid"}},
		{"schedule @every bad duration", func(is *portager.ImageSync) { is.Spec.Schedule = "@every soon" }, []string{"spec.schedule:Invalid"}},
		{"schedule too long", func(is *portager.ImageSync) { is.Spec.Schedule = "@every " + strings.Repeat("1", 300) + "h" }, []string{"spec.schedule:TooLong"}},

		{"source registry required", func(is *portager.ImageSync) { is.Spec.Source.Registry = "" }, []string{"spec.source.registry:Required"}},
		{"source registry scheme", func(is *portager.ImageSync) { is.Spec.Source.Registry = "https://ghcr.io" }, []string{"spec.source.registry:Invalid"}},
		{"source registry credentials", func(is *portager.ImageSync) { is.Spec.Source.Registry = "user:pass@ghcr.io" }, []string{"spec.source.registry:Invalid"}},
		{"source registry whitespace", func(is *portager.ImageSync) { is.Spec.Source.Registry = "ghcr.io/my org" }, []string{"spec.source.registry:Invalid"}},
		{"source registry trailing slash", func(is *portager.ImageSync) { is.Spec.Source.Registry = "ghcr.io/org/" }, []string{"spec.source.registry:Invalid"}},
		{"source registry uppercase path", func(is *portager.ImageSync) { is.Spec.Source.Registry = "ghcr.io/MyOrg" }, []string{"spec.source.registry:Invalid"}},
		{"source registry bad port", func(is *portager.ImageSync) { is.Spec.Source.Registry = "localhost:99999" }, []string{"spec.source.registry:Invalid"}},
		{"source registry bad host", func(is *portager.ImageSync) { is.Spec.Source.Registry = "-bad-.io" }, []string{"spec.source.registry:Invalid"}},
		{"source registry query", func(is *portager.ImageSync) { is.Spec.Source.Registry = "ghcr.io?x=1" }, []string{"spec.source.registry:Invalid"}},
		{"source secret name invalid", func(is *portager.ImageSync) {
			is.Spec.Source.AuthSecretRef = &portager.SecretReference{Name: "Pull_Creds"}
		}, []string{"spec.source.authSecretRef.name:Invalid"}},
		{"source secret name required", func(is *portager.ImageSync) {
			is.Spec.Source.AuthSecretRef = &portager.SecretReference{}
		}, []string{"spec.source.authSecretRef.name:Required"}},
		{"source secret namespace invalid", func(is *portager.ImageSync) {
			is.Spec.Source.AuthSecretRef = &portager.SecretReference{Name: "creds", Namespace: "a.b"}
		}, []string{"spec.source.authSecretRef.namespace:Invalid"}},
		{"source method unset keeps authSecretRef", func(is *portager.ImageSync) {
			is.Spec.Source.AuthSecretRef = &portager.SecretReference{Name: "pull"}
			is.Spec.Source.Auth = &portager.SourceAuth{}
		}, nil},
		{"source method secret with authSecretRef", func(is *portager.ImageSync) {
			is.Spec.Source.AuthSecretRef = &portager.SecretReference{Name: "pull"}
			is.Spec.Source.Auth = &portager.SourceAuth{Method: portager.AuthMethodSecret}
		}, nil},
		{"source method secret needs authSecretRef", func(is *portager.ImageSync) {
			is.Spec.Source.Auth = &portager.SourceAuth{Method: portager.AuthMethodSecret}
		}, []string{"spec.source.authSecretRef:Required"}},
		{"source method ecr", func(is *portager.ImageSync) {
			is.Spec.Source.Auth = &portager.SourceAuth{Method: portager.AuthMethodECR}
		}, nil},
		{"source method gar", func(is *portager.ImageSync) {
			is.Spec.Source.Auth = &portager.SourceAuth{Method: portager.AuthMethodGAR}
		}, nil},
		{"source method acr", func(is *portager.ImageSync) {
			is.Spec.Source.Auth = &portager.SourceAuth{Method: portager.AuthMethodACR}
		}, nil},
		{"destination method acr", func(is *portager.ImageSync) {
			is.Spec.Destination.Auth = portager.DestinationAuth{Method: portager.AuthMethodACR}
		}, nil},
		{"source method anonymous", func(is *portager.ImageSync) {
			is.Spec.Source.Auth = &portager.SourceAuth{Method: portager.AuthMethodAnonymous}
		}, nil},
		{"source method enum", func(is *portager.ImageSync) { is.Spec.Source.Auth = &portager.SourceAuth{Method: "basic"} }, []string{"spec.source.auth.method:NotSupported"}},
		{"source cloud method with authSecretRef", func(is *portager.ImageSync) {
			is.Spec.Source.AuthSecretRef = &portager.SecretReference{Name: "pull"}
			is.Spec.Source.Auth = &portager.SourceAuth{Method: portager.AuthMethodECR}
		}, []string{"spec.source.authSecretRef:Forbidden"}},
		{"source anonymous method with authSecretRef", func(is *portager.ImageSync) {
			is.Spec.Source.AuthSecretRef = &portager.SecretReference{Name: "pull"}
			is.Spec.Source.Auth = &portager.SourceAuth{Method: portager.AuthMethodAnonymous}
		}, []string{"spec.source.authSecretRef:Forbidden"}},

		{"destination registry required", func(is *portager.ImageSync) { is.Spec.Destination.Registry = "" }, []string{"spec.destination.registry:Required"}},
		{"destination registry scheme", func(is *portager.ImageSync) { is.Spec.Destination.Registry = "http://harbor.local" }, []string{"spec.destination.registry:Invalid"}},
		{"destination prefix invalid", func(is *portager.ImageSync) { is.Spec.Destination.RepositoryPrefix = "Mirror/" }, []string{"spec.destination.repositoryPrefix:Invalid"}},
		{"auth method required", func(is *portager.ImageSync) { is.Spec.Destination.Auth.Method = "" }, []string{"spec.destination.auth.method:Required"}},
		{"auth method enum", func(is *portager.ImageSync) { is.Spec.Destination.Auth.Method = "basic" }, []string{"spec.destination.auth.method:NotSupported"}},
		{"secret method needs secretRef", func(is *portager.ImageSync) {
			is.Spec.Destination.Auth = portager.DestinationAuth{Method: portager.AuthMethodSecret}
		}, []string{"spec.destination.auth.secretRef:Required"}},
		{"destination secret name invalid", func(is *portager.ImageSync) {
			is.Spec.Destination.Auth = portager.DestinationAuth{Method: portager.AuthMethodSecret, SecretRef: &portager.SecretReference{Name: "-x"}}
		}, []string{"spec.destination.auth.secretRef.name:Invalid"}},

		{"ecr settings", func(is *portager.ImageSync) {
			is.Spec.Destination.ECR = &portager.ECRRepositorySettings{ImageTagMutability: portager.ECRTagImmutable, ScanOnPush: true,
				Encryption: &portager.ECREncryption{KMSKey: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
				Tags:       map[string]string{"team": "payments", "cost-center": "42", "owner:email": "a+b@example.com", "Ünïcode key": ""}}
		}, nil},
		{"ecr encryption with the AWS managed key", func(is *portager.ImageSync) {
			is.Spec.Destination.ECR = &portager.ECRRepositorySettings{Encryption: &portager.ECREncryption{}}
		}, nil},
		{"ecr tag mutability enum", func(is *portager.ImageSync) {
			is.Spec.Destination.ECR = &portager.ECRRepositorySettings{ImageTagMutability: "immutable"}
		}, []string{"spec.destination.ecr.imageTagMutability:NotSupported"}},
		{"ecr kms key with whitespace", func(is *portager.ImageSync) {
			is.Spec.Destination.ECR = &portager.ECRRepositorySettings{Encryption: &portager.ECREncryption{KMSKey: "alias/my key"}}
		}, []string{"spec.destination.ecr.encryption.kmsKey:Invalid"}},
		{"ecr kms key too long", func(is *portager.ImageSync) {
			is.Spec.Destination.ECR = &portager.ECRRepositorySettings{Encryption: &portager.ECREncryption{KMSKey: strings.Repeat("k", 2049)}}
		}, []string{"spec.destination.ecr.encryption.kmsKey:TooLong"}},
		{"ecr too many tags", func(is *portager.ImageSync) {
			tags := map[string]string{}
			for i := range 51 {
				tags[fmt.Sprint("k", i)] = "v"
			}
			is.Spec.Destination.ECR = &portager.ECRRepositorySettings{Tags: tags}
		}, []string{"spec.destination.ecr.tags:TooMany"}},
		{"ecr bad tags", func(is *portager.ImageSync) {
			is.Spec.Destination.ECR = &portager.ECRRepositorySettings{Tags: map[string]string{
				"":                       "empty key",
				"aws:createdBy":          "reserved",
				strings.Repeat("ü", 129): "long key",
				"semi;colon":             "bad key",
				"fine":                   strings.Repeat("v", 257),
				"fine-too":               "bad\nvalue",
				strings.Repeat("ü", 128): "longest key",
			}}
		}, []string{
			"spec.destination.ecr.tags[]:Invalid", "spec.destination.ecr.tags[aws:createdBy]:Invalid",
			"spec.destination.ecr.tags[fine]:Invalid", "spec.destination.ecr.tags[fine-too]:Invalid",
			"spec.destination.ecr.tags[semi;colon]:Invalid", "spec.destination.ecr.tags[" + strings.Repeat("ü", 129) + "]:Invalid",
		}},

		{"platforms", func(is *portager.ImageSync) {
			is.Spec.Platforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "windows/amd64"}
			is.Spec.Images[0].Platforms = []string{"linux/s390x"}
		}, nil},
		{"platform without architecture", func(is *portager.ImageSync) { is.Spec.Platforms = []string{"linux"} }, []string{"spec.platforms[0]:Invalid"}},
		{"platform uppercase", func(is *portager.ImageSync) { is.Spec.Platforms = []string{"linux/amd64", "Linux/AMD64"} }, []string{"spec.platforms[1]:Invalid"}},
		{"platform too many parts", func(is *portager.ImageSync) { is.Spec.Images[1].Platforms = []string{"linux/arm/v7/x"} }, []string{"spec.images[1].platforms[0]:Invalid"}},
		{"platform duplicate", func(is *portager.ImageSync) { is.Spec.Platforms = []string{"linux/amd64", "linux/amd64"} }, []string{"spec.platforms[1]:Duplicate"}},
		{"too many platforms", func(is *portager.ImageSync) {
			is.Spec.Platforms = nil
			for i := range MaxPlatforms + 1 {
				is.Spec.Platforms = append(is.Spec.Platforms, fmt.Sprintf("linux/arch%d", i))
			}
		}, []string{"spec.platforms:TooMany"}},

		{"images required", func(is *portager.ImageSync) { is.Spec.Images = nil }, []string{"spec.images:Required"}},
		{"too many images", func(is *portager.ImageSync) {
			is.Spec.Images = make([]portager.ImageSpec, MaxImages+1)
		}, []string{"spec.images:TooMany"}},
		{"image name required", func(is *portager.ImageSync) { is.Spec.Images[0].Name = "" }, []string{"spec.images[0].name:Required"}},
		{"image name uppercase", func(is *portager.ImageSync) { is.Spec.Images[0].Name = "Alpine" }, []string{"spec.images[0].name:Invalid"}},
		{"image name double slash", func(is *portager.ImageSync) { is.Spec.Images[1].Name = "library//nginx" }, []string{"spec.images[1].name:Invalid"}},
		{"image name too long for destination", func(is *portager.ImageSync) {
			is.Spec.Images[0].Name = strings.Repeat("a", 220)
		}, []string{"spec.images[0].name:Invalid"}},
		{"image needs tags or semver", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = nil }, []string{"spec.images[0].tags:Required"}},
		{"tag invalid characters", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = []string{"3.21", "la:test"} }, []string{"spec.images[0].tags[1]:Invalid"}},
		{"tag leading dot", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = []string{".hidden"} }, []string{"spec.images[0].tags[0]:Invalid"}},
		{"tag too long", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = []string{strings.Repeat("a", 129)} }, []string{"spec.images[0].tags[0]:Invalid"}},
		{"tag of the longest length", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = []string{"v" + strings.Repeat("1.", 63) + "x"} }, nil},
		{"tag empty", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = []string{""} }, []string{"spec.images[0].tags[0]:Required"}},
		{"too many tags in one image", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = tags(MaxTagsPerImage + 1) }, []string{"spec.images[0].tags:TooMany"}},
		{"too many tags in all", func(is *portager.ImageSync) {
			is.Spec.Images = nil
			for i := 0; i < 5; i++ {
				is.Spec.Images = append(is.Spec.Images, portager.ImageSpec{Name: fmt.Sprintf("img%d", i), Tags: tags(MaxTagsPerImage)})
			}
		}, []string{"spec.images:TooMany"}},
		{"semver invalid", func(is *portager.ImageSync) { is.Spec.Images[1].Semver = ">>1.0" }, []string{"spec.images[1].semver:Invalid"}},
		{"semver too long", func(is *portager.ImageSync) { is.Spec.Images[1].Semver = strings.Repeat("1", MaxSemverLength+1) }, []string{"spec.images[1].semver:TooLong"}},
		{"maxTags negative", func(is *portager.ImageSync) { is.Spec.Images[1].MaxTags = -1 }, []string{"spec.images[1].maxTags:Invalid"}},
		{"maxTags over cap", func(is *portager.ImageSync) { is.Spec.Images[1].MaxTags = MaxMaxTags + 1 }, []string{"spec.images[1].maxTags:Invalid"}},

		{"include alone is a selection", func(is *portager.ImageSync) {
			is.Spec.Images[1] = portager.ImageSpec{Name: "nginx", Include: []string{`1\.27\..*`, "stable"}, Exclude: []string{".*-rc.*"}, MaxTags: 3}
		}, nil},
		{"digests alone are a selection", func(is *portager.ImageSync) {
			is.Spec.Images[1] = portager.ImageSpec{Name: "nginx", Digests: []string{testDigest}}
		}, nil},
		{"pinned tag", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = []string{"3.20@" + testDigest} }, nil},
		{"exclude alone selects nothing", func(is *portager.ImageSync) {
			is.Spec.Images[1] = portager.ImageSpec{Name: "nginx", Tags: []string{"latest"}, Exclude: []string{"latest"}}
		}, []string{"spec.images[1].exclude:Forbidden"}},
		{"bad include pattern", func(is *portager.ImageSync) { is.Spec.Images[1].Include = []string{"1.27", "(1.28"} }, []string{"spec.images[1].include[1]:Invalid"}},
		{"pattern that only compiles once anchored", func(is *portager.ImageSync) { is.Spec.Images[1].Include = []string{"a)|(b"} }, []string{"spec.images[1].include[0]:Invalid"}},
		{"empty exclude pattern", func(is *portager.ImageSync) { is.Spec.Images[1].Exclude = []string{""} }, []string{"spec.images[1].exclude[0]:Required"}},
		{"pattern too long", func(is *portager.ImageSync) { is.Spec.Images[1].Include = []string{strings.Repeat("a", 257)} }, []string{"spec.images[1].include[0]:TooLong"}},
		{"too many patterns", func(is *portager.ImageSync) { is.Spec.Images[1].Exclude = tags(MaxPatternsPerImage + 1) }, []string{"spec.images[1].exclude:TooMany"}},
		{"pin not a sha256 digest", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = []string{"3.20@sha256:abc"} }, []string{"spec.images[0].tags[0]:Invalid"}},
		{"pinned tag name invalid", func(is *portager.ImageSync) { is.Spec.Images[0].Tags = []string{"-x@" + testDigest} }, []string{"spec.images[0].tags[0]:Invalid"}},
		{"digest invalid", func(is *portager.ImageSync) { is.Spec.Images[1].Digests = []string{"sha256:ABC"} }, []string{"spec.images[1].digests[0]:Invalid"}},
		{"digest twice", func(is *portager.ImageSync) { is.Spec.Images[1].Digests = []string{testDigest, testDigest} }, []string{"spec.images[1].digests[1]:Duplicate"}},
		{"immutableTags", func(is *portager.ImageSync) { is.Spec.ImmutableTags = `v?[0-9]+\.[0-9]+\.[0-9]+` }, nil},
		{"immutableTags invalid", func(is *portager.ImageSync) { is.Spec.ImmutableTags = "[" }, []string{"spec.immutableTags:Invalid"}},
		{"overwrite Never", func(is *portager.ImageSync) { is.Spec.Destination.Overwrite = portager.OverwriteNever }, nil},
		{"overwrite unknown", func(is *portager.ImageSync) { is.Spec.Destination.Overwrite = "Sometimes" }, []string{"spec.destination.overwrite:NotSupported"}},

		{"keyless needs issuer", withCosign(portager.CosignValidation{Enabled: true}), []string{"spec.validation.cosign.keylessIssuer:Required"}},
		{"issuer must be https", withCosign(portager.CosignValidation{Enabled: true, KeylessIssuer: "accounts.google.com"}), []string{"spec.validation.cosign.keylessIssuer:Invalid"}},
		{"public key not PEM", withCosign(portager.CosignValidation{Enabled: true, PublicKey: "ssh-ed25519 AAAA"}), []string{"spec.validation.cosign.publicKey:Invalid"}},
		{"public key wrong block", withCosign(portager.CosignValidation{Enabled: true,
			PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}))}), []string{"spec.validation.cosign.publicKey:Invalid"}},
		{"public key garbage DER", withCosign(portager.CosignValidation{Enabled: true,
			PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("not a key")}))}), []string{"spec.validation.cosign.publicKey:Invalid"}},
		{"identity regexp invalid", withCosign(portager.CosignValidation{Enabled: true, KeylessIssuer: "https://issuer.example", KeylessIdentityRegexp: "(["}),
			[]string{"spec.validation.cosign.keylessIdentityRegexp:Invalid"}},
		{"identity and regexp both", withCosign(portager.CosignValidation{Enabled: true, KeylessIssuer: "https://issuer.example", KeylessIdentity: "a@b.c", KeylessIdentityRegexp: ".*"}),
			[]string{"spec.validation.cosign.keylessIdentityRegexp:Forbidden"}},
		{"maxSeverity required", func(is *portager.ImageSync) {
			is.Spec.Validation = &portager.ValidationSpec{VulnerabilityGate: &portager.VulnerabilityGate{Enabled: true}}
		}, []string{"spec.validation.vulnerabilityGate.maxSeverity:Required"}},
		{"maxSeverity enum", func(is *portager.ImageSync) {
			is.Spec.Validation = &portager.ValidationSpec{VulnerabilityGate: &portager.VulnerabilityGate{Enabled: true, MaxSeverity: "severe", RequireCveReport: ptr.To(true)}}
		}, []string{"spec.validation.vulnerabilityGate.maxSeverity:NotSupported"}},

		{"name invalid", func(is *portager.ImageSync) { is.Name = "Base_Images" }, []string{"metadata.name:Invalid"}},
		{"namespace required", func(is *portager.ImageSync) { is.Namespace = "" }, []string{"metadata.namespace:Required"}},
		{"several errors reported together", func(is *portager.ImageSync) {
			is.Spec.Schedule = "nope"
			is.Spec.Images[0].Tags = []string{"-x"}
			is.Spec.Images[1].Semver = "~>"
		}, []string{"spec.schedule:Invalid", "spec.images[0].tags[0]:Invalid", "spec.images[1].semver:Invalid"}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateImageSync(newImageSync(tc.mutate), DefaultOptions())
			if got := summarize(errs); !equal(got, tc.want) {
				t.Errorf("errors = %v, want %v\nfull: %v", got, tc.want, errs.ToAggregate())
			}
		})
	}
}

func summarize(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+":"+typeName[e.Type])
	}
	return out
}

var typeName = map[field.ErrorType]string{
	field.ErrorTypeRequired:     "Required",
	field.ErrorTypeInvalid:      "Invalid",
	field.ErrorTypeNotSupported: "NotSupported",
	field.ErrorTypeTooLong:      "TooLong",
	field.ErrorTypeTooMany:      "TooMany",
	field.ErrorTypeForbidden:    "Forbidden",
	field.ErrorTypeDuplicate:    "Duplicate",
}

func equal(got, want []string) bool {
	return strings.Join(got, ",") == strings.Join(want, ",")
}

func TestValidateImageSyncStatus(t *testing.T) {
	cases := []struct {
		name   string
		status portager.ImageSyncStatus
		want   []string
	}{
		{"empty", portager.ImageSyncStatus{}, nil},
		{"negative count", portager.ImageSyncStatus{FailedImages: -1}, []string{"status.failedImages:Invalid"}},
		{"bad digest", portager.ImageSyncStatus{Images: []portager.ImageStatus{{Name: "a", Tags: []portager.TagStatus{{Tag: "1", SourceDigest: "abc"}}}}},
			[]string{"status.images[0].tags[0].sourceDigest:Invalid"}},
		{"error too long", portager.ImageSyncStatus{Images: []portager.ImageStatus{{Name: "a", Tags: []portager.TagStatus{{Tag: "1", Error: strings.Repeat("x", MaxStatusMessageSize+1)}}}}},
			[]string{"status.images[0].tags[0].error:TooLong"}},
		{"reason", portager.ImageSyncStatus{Images: []portager.ImageStatus{{Name: "a", Tags: []portager.TagStatus{{Tag: "1", Reason: "ImmutableTagPresent"}}}}}, nil},
		{"reason not CamelCase", portager.ImageSyncStatus{Images: []portager.ImageStatus{{Name: "a", Tags: []portager.TagStatus{{Tag: "1", Reason: "not a reason"}}}}},
			[]string{"status.images[0].tags[0].reason:Invalid"}},
		{"condition without reason", portager.ImageSyncStatus{Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, LastTransitionTime: metav1.Now()}}},
			[]string{"status.conditions[0].reason:Required"}},
		{"too many tag statuses", portager.ImageSyncStatus{Images: []portager.ImageStatus{
			{Name: "a", Tags: make([]portager.TagStatus, MaxStatusTags/2+1)},
			{Name: "b", Tags: make([]portager.TagStatus, MaxStatusTags/2+1)},
		}}, []string{"status.images:TooMany"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := newImageSync()
			obj := newImageSync()
			obj.ResourceVersion, old.ResourceVersion = "1", "1"
			obj.Status = tc.status
			if got := summarize(ValidateImageSyncStatusUpdate(obj, old)); !equal(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*portager.ImageSync)
		want   []string // substrings, one per expected warning, in order
	}{
		{"none", func(is *portager.ImageSync) {}, nil},
		{"keyless issuer only", withCosign(portager.CosignValidation{Enabled: true, KeylessIssuer: "https://token.actions.githubusercontent.com"}),
			[]string{"spec.validation.cosign.keylessIssuer: keyless verification with only an issuer"}},
		{"keyless with identity", withCosign(portager.CosignValidation{Enabled: true, KeylessIssuer: "https://i.example", KeylessIdentity: "ci@example.com"}), nil},
		{"broad constraint unlimited", func(is *portager.ImageSync) { is.Spec.Images[1] = portager.ImageSpec{Name: "nginx", Semver: ">=1.0"} },
			[]string{"spec.images[1].semver: constraint \">=1.0\" has no upper bound"}},
		{"wildcard unlimited", func(is *portager.ImageSync) { is.Spec.Images[1] = portager.ImageSpec{Name: "nginx", Semver: "*"} },
			[]string{"spec.images[1].semver"}},
		{"bounded constraint unlimited is fine", func(is *portager.ImageSync) { is.Spec.Images[1] = portager.ImageSpec{Name: "nginx", Semver: "~1.27.0"} }, nil},
		{"broad constraint with maxTags is fine", func(is *portager.ImageSync) {
			is.Spec.Images[1] = portager.ImageSpec{Name: "nginx", Semver: ">=1.0", MaxTags: 5}
		}, nil},
		{"maxTags without semver", func(is *portager.ImageSync) { is.Spec.Images[0].MaxTags = 2 }, []string{"spec.images[0].maxTags: maxTags only applies when semver or include is set"}},
		{"docker hub every minute", func(is *portager.ImageSync) { is.Spec.Schedule = "* * * * *" }, []string{"spec.schedule: runs every 1m0s against Docker Hub"}},
		{"docker hub every 2m", func(is *portager.ImageSync) { is.Spec.Schedule = "@every 2m" }, []string{"spec.schedule"}},
		{"docker hub hourly is fine", func(is *portager.ImageSync) { is.Spec.Schedule = "@hourly" }, nil},
		{"other registry every minute is fine", func(is *portager.ImageSync) {
			is.Spec.Schedule = "@every 1m"
			is.Spec.Source.Registry = "ghcr.io/org"
		}, nil},
		{"secretRef ignored", func(is *portager.ImageSync) {
			is.Spec.Destination.Auth.SecretRef = &portager.SecretReference{Name: "x"}
		},
			[]string{"spec.destination.auth.secretRef: ignored"}},
		{"ecr method on another host", func(is *portager.ImageSync) { is.Spec.Destination.Registry = "harbor.example.com/mirror" },
			[]string{`spec.destination.registry: "harbor.example.com" is not an Amazon ECR registry`}},
		{"gar method on Artifact Registry", func(is *portager.ImageSync) {
			is.Spec.Destination = portager.DestinationRegistry{Registry: "us-docker.pkg.dev/proj/mirror", Auth: portager.DestinationAuth{Method: portager.AuthMethodGAR}}
		}, nil},
		{"gar method on another host", func(is *portager.ImageSync) {
			is.Spec.Destination = portager.DestinationRegistry{Registry: "ghcr.io/org", Auth: portager.DestinationAuth{Method: portager.AuthMethodGAR}}
		}, []string{`spec.destination.registry: "ghcr.io" is not a Google Artifact Registry host`}},
		{"source ecr method on ECR", func(is *portager.ImageSync) {
			is.Spec.Source = portager.SourceRegistry{Registry: "210987654321.dkr.ecr.eu-west-1.amazonaws.com/base", Auth: &portager.SourceAuth{Method: portager.AuthMethodECR}}
		}, nil},
		{"source ecr method on another host", func(is *portager.ImageSync) {
			is.Spec.Source = portager.SourceRegistry{Registry: "quay.io/org", Auth: &portager.SourceAuth{Method: portager.AuthMethodECR}}
		}, []string{`spec.source.registry: "quay.io" is not an Amazon ECR registry`}},
		{"source gar method on another host", func(is *portager.ImageSync) {
			is.Spec.Source = portager.SourceRegistry{Registry: "quay.io/org", Auth: &portager.SourceAuth{Method: portager.AuthMethodGAR}}
		}, []string{`spec.source.registry: "quay.io" is not a Google Artifact Registry host`}},
		{"acr method on ACR", func(is *portager.ImageSync) {
			is.Spec.Destination = portager.DestinationRegistry{Registry: "contosomirror.azurecr.io/base", Auth: portager.DestinationAuth{Method: portager.AuthMethodACR}}
			is.Spec.Source = portager.SourceRegistry{Registry: "upstreamteam.azurecr.us", Auth: &portager.SourceAuth{Method: portager.AuthMethodACR}}
		}, nil},
		{"acr method on another host", func(is *portager.ImageSync) {
			is.Spec.Destination = portager.DestinationRegistry{Registry: "contosomirror.azurecr.io.example.com", Auth: portager.DestinationAuth{Method: portager.AuthMethodACR}}
		}, []string{`spec.destination.registry: "contosomirror.azurecr.io.example.com" is not an Azure Container Registry host`}},
		{"source acr method on another host", func(is *portager.ImageSync) {
			is.Spec.Source = portager.SourceRegistry{Registry: "ghcr.io/org", Auth: &portager.SourceAuth{Method: portager.AuthMethodACR}}
		}, []string{`spec.source.registry: "ghcr.io" is not an Azure Container Registry host`}},
		{"ecr settings without createDestinationRepos", func(is *portager.ImageSync) {
			is.Spec.Destination.ECR = &portager.ECRRepositorySettings{ScanOnPush: true}
		}, []string{"spec.destination.ecr: only applies to repositories that createDestinationRepos creates"}},
		{"ecr settings with createDestinationRepos", func(is *portager.ImageSync) {
			is.Spec.Destination.ECR = &portager.ECRRepositorySettings{ScanOnPush: true}
			is.Spec.CreateDestinationRepos = true
		}, nil},
		{"createDestinationRepos outside ECR", func(is *portager.ImageSync) {
			is.Spec.CreateDestinationRepos = true
			is.Spec.Destination.Auth = portager.DestinationAuth{Method: portager.AuthMethodAnonymous}
		}, []string{"spec.createDestinationRepos"}},
		{"duplicate image and tag", func(is *portager.ImageSync) {
			is.Spec.Images = append(is.Spec.Images, portager.ImageSpec{Name: "alpine", Tags: []string{"edge", "edge"}})
		}, []string{"spec.images[2].name: image \"alpine\" is also listed at spec.images[0]", "spec.images[2].tags[1]: tag \"edge\" is listed more than once"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := newImageSync(tc.mutate)
			if errs := ValidateImageSync(is, DefaultOptions()); len(errs) > 0 {
				t.Fatalf("fixture must be valid: %v", errs)
			}
			got := Warnings(&is.Spec)
			if len(got) != len(tc.want) {
				t.Fatalf("warnings = %q, want %d matching %q", got, len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("warning[%d] = %q, want it to contain %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}
