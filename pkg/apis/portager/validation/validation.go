package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/tagselect"
)

// Caps that keep one ImageSync from growing without bound in etcd (whose
// default object limit is 1.5 MiB) and keep one run's work finite.
const (
	MaxImages            = 256
	MaxTagsPerImage      = 256
	MaxDigestsPerImage   = 256
	MaxPatternsPerImage  = 32
	MaxExplicitTags      = 1024
	MaxMaxTags           = 1000
	MaxScheduleLength    = 256
	MaxSemverLength      = 256
	MaxPublicKeyLength   = 16 << 10
	MaxIssuerLength      = 1024
	MaxIdentityLength    = 1024
	MaxStatusTags        = 1000
	MaxStatusMessageSize = 1024
)

// Options are the limits a server administrator sets on what validation
// accepts. The zero value is not useful; start from DefaultOptions.
type Options struct {
	// MinScheduleInterval is the shortest time between two scheduled runs
	// a schedule may ask for.
	MinScheduleInterval time.Duration
}

// DefaultOptions are the limits of a server started without flags, and of
// the one-shot command.
func DefaultOptions() Options {
	return Options{MinScheduleInterval: DefaultMinScheduleInterval}
}

// ValidateImageSync validates a new ImageSync.
func ValidateImageSync(obj *portager.ImageSync, opts Options) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&obj.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateImageSyncSpec(&obj.Spec, opts, field.NewPath("spec"))...)
	return allErrs
}

// ValidateImageSyncUpdate validates an update of an ImageSync's metadata and spec.
func ValidateImageSyncUpdate(obj, old *portager.ImageSync, opts Options) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&obj.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateImageSyncSpec(&obj.Spec, opts, field.NewPath("spec"))...)
	return allErrs
}

// ValidateImageSyncStatusUpdate validates a write to the status subresource.
func ValidateImageSyncStatusUpdate(obj, old *portager.ImageSync) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&obj.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateImageSyncStatus(&obj.Status, field.NewPath("status"))...)
	return allErrs
}

// ValidateImageSyncSpec validates every field of a spec.
func ValidateImageSyncSpec(spec *portager.ImageSyncSpec, opts Options, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	allErrs = append(allErrs, ValidateSchedule(spec.Schedule, opts.MinScheduleInterval, fldPath.Child("schedule"))...)
	allErrs = append(allErrs, validateSource(&spec.Source, fldPath.Child("source"))...)
	allErrs = append(allErrs, validateDestination(&spec.Destination, fldPath.Child("destination"))...)
	allErrs = append(allErrs, validateImages(spec, fldPath.Child("images"))...)
	if spec.ImmutableTags != "" {
		allErrs = append(allErrs, validateTagPattern(spec.ImmutableTags, fldPath.Child("immutableTags"))...)
	}
	allErrs = append(allErrs, ValidatePlatforms(spec.Platforms, fldPath.Child("platforms"))...)
	if spec.Timeout != nil {
		allErrs = append(allErrs, validateTimeout(spec.Timeout.Duration, fldPath.Child("timeout"))...)
	}
	if spec.Validation != nil {
		allErrs = append(allErrs, validateValidation(spec.Validation, fldPath.Child("validation"))...)
	}
	return allErrs
}

// MaxPlatforms bounds a platform list.
const MaxPlatforms = 32

// platformRegexp is OS/ARCHITECTURE[/VARIANT], as image indexes name
// platforms, e.g. linux/amd64 or linux/arm/v7.
var platformRegexp = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9.]+)?$`)

// ValidatePlatforms checks a platform list: each entry once, each
// OS/ARCHITECTURE[/VARIANT].
func ValidatePlatforms(platforms []string, fldPath *field.Path) field.ErrorList {
	if len(platforms) > MaxPlatforms {
		return field.ErrorList{field.TooMany(fldPath, len(platforms), MaxPlatforms)}
	}
	var allErrs field.ErrorList
	seen := sets.New[string]()
	for i, p := range platforms {
		switch {
		case !platformRegexp.MatchString(p) || len(p) > 64:
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), p, `must be OS/ARCHITECTURE[/VARIANT] in lowercase, e.g. "linux/amd64" or "linux/arm/v7"`))
		case seen.Has(p):
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), p))
		}
		seen.Insert(p)
	}
	return allErrs
}

// maxRunTimeout bounds spec.timeout: a run longer than a day holds a
// worker through many schedules.
const maxRunTimeout = 24 * time.Hour

func validateTimeout(d time.Duration, fldPath *field.Path) field.ErrorList {
	switch {
	case d < time.Second:
		return field.ErrorList{field.Invalid(fldPath, d.String(), "must be at least 1s")}
	case d > maxRunTimeout:
		return field.ErrorList{field.Invalid(fldPath, d.String(), "must be at most 24h")}
	}
	return nil
}

func validateSource(src *portager.SourceRegistry, fldPath *field.Path) field.ErrorList {
	allErrs := ValidateRegistry(src.Registry, fldPath.Child("registry"))
	secretPath := fldPath.Child("authSecretRef")
	if src.AuthSecretRef != nil {
		allErrs = append(allErrs, ValidateSecretReference(src.AuthSecretRef, secretPath)...)
	}
	if src.Auth == nil || src.Auth.Method == "" {
		return allErrs
	}
	methodPath := fldPath.Child("auth", "method")
	switch m := src.Auth.Method; {
	case !supportedAuthMethods.Has(m):
		allErrs = append(allErrs, field.NotSupported(methodPath, m, sets.List(supportedAuthMethods)))
	case m == portager.AuthMethodSecret && src.AuthSecretRef == nil:
		allErrs = append(allErrs, field.Required(secretPath, fmt.Sprintf("required when %s is %q", methodPath, m)))
	case m != portager.AuthMethodSecret && src.AuthSecretRef != nil:
		// Two answers to one question: refuse rather than guess which
		// credentials the writer meant.
		allErrs = append(allErrs, field.Forbidden(secretPath, fmt.Sprintf("must not be set when %s is %q", methodPath, m)))
	}
	return allErrs
}

var supportedAuthMethods = sets.New(
	portager.AuthMethodSecret, portager.AuthMethodECR, portager.AuthMethodGAR, portager.AuthMethodACR, portager.AuthMethodAnonymous)

func validateDestination(dst *portager.DestinationRegistry, fldPath *field.Path) field.ErrorList {
	allErrs := ValidateRegistry(dst.Registry, fldPath.Child("registry"))
	switch dst.Overwrite {
	case "", portager.OverwriteAlways, portager.OverwriteNever:
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("overwrite"), dst.Overwrite, []portager.OverwritePolicy{portager.OverwriteAlways, portager.OverwriteNever}))
	}
	if dst.RepositoryPrefix != "" {
		allErrs = append(allErrs, ValidateRepositoryPath(dst.RepositoryPrefix, fldPath.Child("repositoryPrefix"))...)
	}

	if dst.ECR != nil {
		allErrs = append(allErrs, validateECRSettings(dst.ECR, fldPath.Child("ecr"))...)
	}

	authPath := fldPath.Child("auth")
	switch {
	case dst.Auth.Method == "":
		allErrs = append(allErrs, field.Required(authPath.Child("method"), ""))
	case !supportedAuthMethods.Has(dst.Auth.Method):
		allErrs = append(allErrs, field.NotSupported(authPath.Child("method"), dst.Auth.Method, sets.List(supportedAuthMethods)))
	}
	if dst.Auth.Method == portager.AuthMethodSecret && dst.Auth.SecretRef == nil {
		allErrs = append(allErrs, field.Required(authPath.Child("secretRef"), `required when method is "secret"`))
	}
	if dst.Auth.SecretRef != nil {
		allErrs = append(allErrs, ValidateSecretReference(dst.Auth.SecretRef, authPath.Child("secretRef"))...)
	}
	return allErrs
}

// ECR's limits on a repository's resource tags and KMS key.
const (
	maxECRTags           = 50
	maxECRTagKeyLength   = 128
	maxECRTagValueLength = 256
	maxKMSKeyLength      = 2048
)

// ecrTagRegexp is what AWS allows in a tag key or value.
var ecrTagRegexp = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

func validateECRSettings(s *portager.ECRRepositorySettings, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch s.ImageTagMutability {
	case "", portager.ECRTagMutable, portager.ECRTagImmutable:
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("imageTagMutability"), s.ImageTagMutability,
			[]portager.ECRTagMutability{portager.ECRTagMutable, portager.ECRTagImmutable}))
	}
	if e := s.Encryption; e != nil && e.KMSKey != "" {
		p := fldPath.Child("encryption", "kmsKey")
		switch {
		case len(e.KMSKey) > maxKMSKeyLength:
			allErrs = append(allErrs, field.TooLong(p, "", maxKMSKeyLength))
		case strings.IndexFunc(e.KMSKey, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
			allErrs = append(allErrs, field.Invalid(p, e.KMSKey, "must be a KMS key ARN, ID or alias, without whitespace"))
		}
	}
	tagsPath := fldPath.Child("tags")
	if len(s.Tags) > maxECRTags {
		allErrs = append(allErrs, field.TooMany(tagsPath, len(s.Tags), maxECRTags))
	}
	for _, k := range sets.List(sets.KeySet(s.Tags)) {
		v, p := s.Tags[k], tagsPath.Key(k)
		switch {
		case k == "":
			allErrs = append(allErrs, field.Invalid(p, k, "a tag key must not be empty"))
		case utf8.RuneCountInString(k) > maxECRTagKeyLength:
			allErrs = append(allErrs, field.Invalid(p, k, fmt.Sprintf("a tag key must be at most %d characters", maxECRTagKeyLength)))
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			allErrs = append(allErrs, field.Invalid(p, k, `a tag key must not start with "aws:", which AWS reserves`))
		case !utf8.ValidString(k) || !ecrTagRegexp.MatchString(k):
			allErrs = append(allErrs, field.Invalid(p, k, "a tag key may hold letters, digits, spaces and _ . : / = + - @ only"))
		}
		switch {
		case utf8.RuneCountInString(v) > maxECRTagValueLength:
			allErrs = append(allErrs, field.Invalid(p, v, fmt.Sprintf("a tag value must be at most %d characters", maxECRTagValueLength)))
		case !utf8.ValidString(v) || !ecrTagRegexp.MatchString(v):
			allErrs = append(allErrs, field.Invalid(p, v, "a tag value may hold letters, digits, spaces and _ . : / = + - @ only"))
		}
	}
	return allErrs
}

// ValidateSecretReference checks a Secret's name (DNS-1123 subdomain) and
// namespace (DNS-1123 label).
func ValidateSecretReference(ref *portager.SecretReference, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if ref.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	} else {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(ref.Name, false) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), ref.Name, msg))
		}
	}
	if ref.Namespace != "" {
		for _, msg := range apimachineryvalidation.ValidateNamespaceName(ref.Namespace, false) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("namespace"), ref.Namespace, msg))
		}
	}
	return allErrs
}

func validateImages(spec *portager.ImageSyncSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch n := len(spec.Images); {
	case n == 0:
		return field.ErrorList{field.Required(fldPath, "at least one image must be listed")}
	case n > MaxImages:
		return field.ErrorList{field.TooMany(fldPath, n, MaxImages)}
	}

	explicit := 0
	for i := range spec.Images {
		img := &spec.Images[i]
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, validateImage(img, spec, idxPath)...)
		explicit += len(img.Tags) + len(img.Digests)
	}
	if explicit > MaxExplicitTags {
		allErrs = append(allErrs, field.TooMany(fldPath, explicit, MaxExplicitTags).WithOrigin("explicitTags"))
	}
	return allErrs
}

func validateImage(img *portager.ImageSpec, spec *portager.ImageSyncSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if img.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	} else {
		allErrs = append(allErrs, ValidateRepositoryPath(img.Name, fldPath.Child("name"))...)
		if n := len(DestinationRepository(spec, img.Name)); n > MaxReferenceNameLength {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), img.Name,
				fmt.Sprintf("destination repository name would be %d characters, more than the %d the distribution spec allows", n, MaxReferenceNameLength)))
		}
	}

	if len(img.Tags) == 0 && img.Semver == "" && len(img.Include) == 0 && len(img.Digests) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("tags"), "at least one of tags, semver, include or digests must be specified"))
	}
	allErrs = append(allErrs, ValidatePlatforms(img.Platforms, fldPath.Child("platforms"))...)
	if len(img.Tags) > MaxTagsPerImage {
		allErrs = append(allErrs, field.TooMany(fldPath.Child("tags"), len(img.Tags), MaxTagsPerImage))
	} else {
		for j, entry := range img.Tags {
			allErrs = append(allErrs, validateTagEntry(entry, fldPath.Child("tags").Index(j))...)
		}
	}
	allErrs = append(allErrs, validateTagPatterns(img.Include, fldPath.Child("include"))...)
	allErrs = append(allErrs, validateTagPatterns(img.Exclude, fldPath.Child("exclude"))...)
	if len(img.Exclude) > 0 && img.Semver == "" && len(img.Include) == 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("exclude"), `narrows what semver or include select, so one of them must be set (include: [".*"] selects every tag)`))
	}
	allErrs = append(allErrs, validateDigests(img.Digests, fldPath.Child("digests"))...)

	if img.Semver != "" {
		allErrs = append(allErrs, ValidateSemverConstraint(img.Semver, fldPath.Child("semver"))...)
	}
	switch {
	case img.MaxTags < 0:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxTags"), img.MaxTags, "must be greater than or equal to 0 (0 means unlimited)"))
	case img.MaxTags > MaxMaxTags:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxTags"), img.MaxTags, fmt.Sprintf("must be at most %d", MaxMaxTags)))
	}
	return allErrs
}

// validateTagEntry checks an explicit tags entry: a tag, or a tag pinned
// to a digest as TAG@sha256:HEX.
func validateTagEntry(entry string, fldPath *field.Path) field.ErrorList {
	tag, _, err := tagselect.ParseTag(entry)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath, entry, "must be a tag, or a tag pinned to a digest as TAG@sha256:<64 lower-case hex characters>")}
	}
	return ValidateTag(tag, fldPath)
}

// validateTagPatterns checks include or exclude patterns.
func validateTagPatterns(patterns []string, fldPath *field.Path) field.ErrorList {
	if len(patterns) > MaxPatternsPerImage {
		return field.ErrorList{field.TooMany(fldPath, len(patterns), MaxPatternsPerImage)}
	}
	var allErrs field.ErrorList
	for i, p := range patterns {
		allErrs = append(allErrs, validateTagPattern(p, fldPath.Index(i))...)
	}
	return allErrs
}

// validateTagPattern checks an RE2 pattern matched against whole tags.
func validateTagPattern(pattern string, fldPath *field.Path) field.ErrorList {
	switch {
	case pattern == "":
		return field.ErrorList{field.Required(fldPath, "")}
	case len(pattern) > tagselect.MaxPatternLength:
		return field.ErrorList{field.TooLong(fldPath, "", tagselect.MaxPatternLength)}
	}
	if _, err := tagselect.CompilePattern(pattern); err != nil {
		return field.ErrorList{field.Invalid(fldPath, pattern, fmt.Sprintf("must be an RE2 regular expression matched against whole tags: %v", err))}
	}
	return nil
}

// validateDigests checks the digests an image copies by digest.
func validateDigests(digests []string, fldPath *field.Path) field.ErrorList {
	if len(digests) > MaxDigestsPerImage {
		return field.ErrorList{field.TooMany(fldPath, len(digests), MaxDigestsPerImage)}
	}
	var allErrs field.ErrorList
	seen := sets.New[string]()
	for i, d := range digests {
		switch {
		case !tagselect.IsDigest(d):
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), d, "must be sha256: and 64 lower-case hex characters"))
		case seen.Has(d):
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), d))
		}
		seen.Insert(d)
	}
	return allErrs
}

// ValidateSemverConstraint checks a Masterminds/semver/v3 constraint.
func ValidateSemverConstraint(constraint string, fldPath *field.Path) field.ErrorList {
	if len(constraint) > MaxSemverLength {
		return field.ErrorList{field.TooLong(fldPath, "", MaxSemverLength)}
	}
	if _, err := semver.NewConstraint(constraint); err != nil {
		return field.ErrorList{field.Invalid(fldPath, constraint, fmt.Sprintf("not a valid semver constraint (e.g. \">=1.22 <1.23\", \"~1.3.0\", \"^1.3\", \"1.x\"): %v", err))}
	}
	return nil
}

func validateValidation(v *portager.ValidationSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if c := v.Cosign; c != nil {
		allErrs = append(allErrs, validateCosign(c, fldPath.Child("cosign"))...)
	}
	if g := v.VulnerabilityGate; g != nil {
		p := fldPath.Child("vulnerabilityGate", "maxSeverity")
		switch {
		case g.MaxSeverity == "":
			allErrs = append(allErrs, field.Required(p, ""))
		case !supportedSeverities.Has(g.MaxSeverity):
			allErrs = append(allErrs, field.NotSupported(p, g.MaxSeverity, sets.List(supportedSeverities)))
		}
	}
	return allErrs
}

var supportedSeverities = sets.New(
	portager.SeverityCritical, portager.SeverityHigh, portager.SeverityMedium, portager.SeverityLow)

func validateCosign(c *portager.CosignValidation, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if c.PublicKey != "" {
		allErrs = append(allErrs, ValidatePublicKey(c.PublicKey, fldPath.Child("publicKey"))...)
	}
	if c.Enabled && c.PublicKey == "" && c.KeylessIssuer == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("keylessIssuer"), "required when cosign is enabled without publicKey"))
	}
	if c.KeylessIssuer != "" {
		allErrs = append(allErrs, validateIssuer(c.KeylessIssuer, fldPath.Child("keylessIssuer"))...)
	}
	if len(c.KeylessIdentity) > MaxIdentityLength {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("keylessIdentity"), "", MaxIdentityLength))
	}
	if c.KeylessIdentityRegexp != "" {
		allErrs = append(allErrs, validateRegexp(c.KeylessIdentityRegexp, fldPath.Child("keylessIdentityRegexp"))...)
	}
	if c.KeylessIdentity != "" && c.KeylessIdentityRegexp != "" {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("keylessIdentityRegexp"), "may not be set together with keylessIdentity"))
	}
	return allErrs
}

// maxReasonLength and reasonRegexp bound a tag status's reason.
const maxReasonLength = 64

var reasonRegexp = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)

// ValidateImageSyncStatus validates what the controller writes, so a buggy or
// hostile writer cannot store an unbounded or malformed status.
func ValidateImageSyncStatus(status *portager.ImageSyncStatus, fldPath *field.Path) field.ErrorList {
	allErrs := metav1validation.ValidateConditions(status.Conditions, fldPath.Child("conditions"))
	for name, v := range map[string]int32{"totalImages": status.TotalImages, "syncedImages": status.SyncedImages, "failedImages": status.FailedImages} {
		if v < 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child(name), v, "must be greater than or equal to 0"))
		}
	}
	if status.ObservedGeneration < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("observedGeneration"), status.ObservedGeneration, "must be greater than or equal to 0"))
	}

	imagesPath := fldPath.Child("images")
	if len(status.Images) > MaxImages {
		return append(allErrs, field.TooMany(imagesPath, len(status.Images), MaxImages))
	}
	tags := 0
	for i := range status.Images {
		img := &status.Images[i]
		tags += len(img.Tags)
		for j := range img.Tags {
			allErrs = append(allErrs, validateTagStatus(&img.Tags[j], imagesPath.Index(i).Child("tags").Index(j))...)
		}
	}
	if tags > MaxStatusTags {
		allErrs = append(allErrs, field.TooMany(imagesPath, tags, MaxStatusTags).WithOrigin("tags"))
	}
	return allErrs
}

func validateTagStatus(ts *portager.TagStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if ts.Reason != "" && (len(ts.Reason) > maxReasonLength || !reasonRegexp.MatchString(ts.Reason)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("reason"), ts.Reason, "must be a CamelCase code of at most 64 letters and digits"))
	}
	if ts.SourceDigest != "" && !digestRegexp.MatchString(ts.SourceDigest) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("sourceDigest"), ts.SourceDigest, "must be a digest such as sha256:<64 hex characters>"))
	}
	if ts.DestinationDigest != "" && !digestRegexp.MatchString(ts.DestinationDigest) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("destinationDigest"), ts.DestinationDigest, "must be a digest such as sha256:<64 hex characters>"))
	}
	allErrs = append(allErrs, ValidatePlatforms(ts.Platforms, fldPath.Child("platforms"))...)
	if len(ts.Error) > MaxStatusMessageSize {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("error"), "", MaxStatusMessageSize))
	}
	if len(ts.ValidationError) > MaxStatusMessageSize {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("validationError"), "", MaxStatusMessageSize))
	}
	return allErrs
}
