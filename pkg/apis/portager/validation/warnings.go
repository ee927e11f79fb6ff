package validation

import (
	"fmt"
	"time"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/registryhost"
	"github.com/portager/portager/pkg/tagselect"
)

// DockerHubMinInterval is the shortest schedule we sync from Docker Hub without
// a warning: its anonymous pull limits are easily exhausted by tighter loops.
const DockerHubMinInterval = 5 * time.Minute

// broadProbe is a version no real constraint author means to allow; a
// constraint that admits it has no upper bound.
var broadProbe = semver.MustParse("999999.0.0")

// Warnings returns admission warnings for a spec that is legal but risky. It
// assumes the spec passed validation; invalid parts are skipped.
func Warnings(spec *portager.ImageSyncSpec) []string {
	var warnings []string
	add := func(path *field.Path, format string, args ...any) {
		warnings = append(warnings, fmt.Sprintf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	specPath := field.NewPath("spec")

	if c := cosignOf(spec); c != nil && c.Enabled && c.PublicKey == "" && c.KeylessIssuer != "" &&
		c.KeylessIdentity == "" && c.KeylessIdentityRegexp == "" {
		add(specPath.Child("validation", "cosign", "keylessIssuer"),
			"keyless verification with only an issuer accepts a signature from anyone who can get a certificate from %q; set keylessIdentity or keylessIdentityRegexp", c.KeylessIssuer)
	}
	if c := cosignOf(spec); c != nil && c.PublicKey != "" && (c.KeylessIssuer != "" || c.KeylessIdentity != "" || c.KeylessIdentityRegexp != "") {
		add(specPath.Child("validation", "cosign", "publicKey"), "publicKey is set, so the keyless fields are ignored")
	}

	seen := map[string]int{}
	for i := range spec.Images {
		img := &spec.Images[i]
		p := specPath.Child("images").Index(i)
		if first, dup := seen[img.Name]; dup {
			add(p.Child("name"), "image %q is also listed at spec.images[%d]; their tags are synced together", img.Name, first)
		} else {
			seen[img.Name] = i
		}
		if img.MaxTags != 0 && img.Semver == "" && len(img.Include) == 0 {
			add(p.Child("maxTags"), "maxTags only applies when semver or include is set")
		}
		if img.Semver != "" && img.MaxTags == 0 {
			if c, err := semver.NewConstraint(img.Semver); err == nil && c.Check(broadProbe) {
				add(p.Child("semver"), "constraint %q has no upper bound and maxTags is 0 (unlimited): every future release is copied; set maxTags", img.Semver)
			}
		}
		tags := map[string]bool{}
		for j, entry := range img.Tags {
			t, _, _ := tagselect.ParseTag(entry)
			if tags[t] {
				add(p.Child("tags").Index(j), "tag %q is listed more than once; the first entry is used", t)
			}
			tags[t] = true
		}
	}

	if registryhost.IsDockerHub(registryhost.Host(spec.Source.Registry)) {
		if d, ok := scheduleInterval(spec.Schedule); ok && d < DockerHubMinInterval {
			add(specPath.Child("schedule"), "runs every %s against Docker Hub, which rate-limits pulls; schedule at most every %s", d, DockerHubMinInterval)
		}
	}

	if a := spec.Destination.Auth; a.SecretRef != nil && a.Method != portager.AuthMethodSecret {
		add(specPath.Child("destination", "auth", "secretRef"), "ignored because method is %q, not \"secret\"", a.Method)
	}
	// The controller sends its own cloud token only to that cloud's
	// registry, so such a spec can never sync; it is legal (a manifest
	// written for the CRD operator Portager replaces must be accepted) but
	// surely a mistake.
	var srcMethod portager.AuthMethod
	if spec.Source.Auth != nil {
		srcMethod = spec.Source.Auth.Method
	}
	for _, side := range []struct {
		path     *field.Path
		method   portager.AuthMethod
		registry string
	}{
		{specPath.Child("source", "registry"), srcMethod, spec.Source.Registry},
		{specPath.Child("destination", "registry"), spec.Destination.Auth.Method, spec.Destination.Registry},
	} {
		host := registryhost.Host(side.registry)
		if _, ecr := registryhost.ParseECR(host); side.method == portager.AuthMethodECR && !ecr {
			add(side.path, "%q is not an Amazon ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com); method \"ecr\" gets no credentials for it", host)
		}
		if side.method == portager.AuthMethodGAR && !registryhost.IsGAR(host) {
			add(side.path, "%q is not a Google Artifact Registry host (REGION-docker.pkg.dev, gcr.io); method \"gar\" gets no credentials for it", host)
		}
		if _, acr := registryhost.ParseACR(host); side.method == portager.AuthMethodACR && !acr {
			add(side.path, "%q is not an Azure Container Registry host (NAME.azurecr.io, .azurecr.cn, .azurecr.us); method \"acr\" gets no credentials for it", host)
		}
	}
	if spec.CreateDestinationRepos && spec.Destination.Auth.Method != portager.AuthMethodECR {
		add(specPath.Child("createDestinationRepos"), "only has an effect for ECR destinations (method \"ecr\")")
	}
	if spec.Destination.ECR != nil && (!spec.CreateDestinationRepos || spec.Destination.Auth.Method != portager.AuthMethodECR) {
		add(specPath.Child("destination", "ecr"), "only applies to repositories that createDestinationRepos creates with method \"ecr\"")
	}
	return warnings
}

func cosignOf(spec *portager.ImageSyncSpec) *portager.CosignValidation {
	if spec.Validation == nil {
		return nil
	}
	return spec.Validation.Cosign
}

// scheduleInterval is the shortest gap of a schedule that parses.
func scheduleInterval(schedule string) (time.Duration, bool) {
	sched, err := ParseSchedule(schedule)
	if err != nil {
		return 0, false
	}
	return ShortestInterval(sched)
}
