package validation

import (
	"fmt"
	"net/netip"
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/portager/portager/pkg/apis/portager"
)

// MaxRegistryEntries bounds each side of a RegistryPolicy, so that deciding
// on one ImageSync stays cheap however many policies select it.
const MaxRegistryEntries = 256

// ValidateRegistryPolicy validates a new RegistryPolicy.
func ValidateRegistryPolicy(p *portager.RegistryPolicy) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&p.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateRegistryPolicySpec(&p.Spec, field.NewPath("spec"))...)
}

// ValidateRegistryPolicyUpdate validates an update of a RegistryPolicy.
func ValidateRegistryPolicyUpdate(p, old *portager.RegistryPolicy) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&p.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateRegistryPolicySpec(&p.Spec, field.NewPath("spec"))...)
}

func validateRegistryPolicySpec(spec *portager.RegistryPolicySpec, fldPath *field.Path) field.ErrorList {
	allErrs := metav1validation.ValidateLabelSelector(&spec.NamespaceSelector,
		metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("namespaceSelector"))
	allErrs = append(allErrs, validateRegistryEntries(spec.Sources, false, fldPath.Child("sources"))...)
	allErrs = append(allErrs, validateRegistryEntries(spec.Destinations, true, fldPath.Child("destinations"))...)
	return allErrs
}

func validateRegistryEntries(entries []portager.RegistryEntry, destination bool, fldPath *field.Path) field.ErrorList {
	if len(entries) > MaxRegistryEntries {
		return field.ErrorList{field.TooMany(fldPath, len(entries), MaxRegistryEntries)}
	}
	var allErrs field.ErrorList
	for i := range entries {
		e := &entries[i]
		p := fldPath.Index(i)
		allErrs = append(allErrs, validateRegistryEntry(e.Registry, p.Child("registry"))...)
		if e.RepositoryPrefix == "" {
			continue
		}
		if !destination {
			allErrs = append(allErrs, field.Forbidden(p.Child("repositoryPrefix"), "only destination entries bound repositories"))
			continue
		}
		allErrs = append(allErrs, validateRepositoryPrefixPattern(e.RepositoryPrefix, p.Child("repositoryPrefix"))...)
	}
	return allErrs
}

// validateRegistryEntry accepts host[:port], *.domain[:port] or a CIDR.
func validateRegistryEntry(registry string, fldPath *field.Path) field.ErrorList {
	switch {
	case registry == "":
		return field.ErrorList{field.Required(fldPath, `a host such as "ghcr.io", a wildcard such as "*.example.com" or a CIDR such as "10.20.0.0/16"`)}
	case len(registry) > MaxReferenceNameLength:
		return field.ErrorList{field.TooLong(fldPath, "", MaxReferenceNameLength)}
	}
	if strings.Contains(registry, "/") {
		prefix, err := netip.ParsePrefix(registry)
		if err != nil {
			return field.ErrorList{field.Invalid(fldPath, registry, "must be a host[:port] without a path, or a CIDR such as \"10.20.0.0/16\"")}
		}
		if prefix != prefix.Masked() {
			return field.ErrorList{field.Invalid(fldPath, registry, fmt.Sprintf("host bits are set; write the network as %q", prefix.Masked()))}
		}
		return nil
	}
	host := registry
	if rest, ok := strings.CutPrefix(registry, "*."); ok {
		host = rest
		if h, _, _ := strings.Cut(rest, ":"); !strings.Contains(h, ".") {
			return field.ErrorList{field.Invalid(fldPath, registry, "a wildcard needs a domain of at least two labels, e.g. \"*.example.com\"")}
		}
	}
	if msg := validateHostPort(host); msg != "" {
		return field.ErrorList{field.Invalid(fldPath, registry, msg)}
	}
	return nil
}

// validateRepositoryPrefixPattern accepts repository path components, each
// of which may be the namespace placeholder, optionally ending with "/".
func validateRepositoryPrefixPattern(prefix string, fldPath *field.Path) field.ErrorList {
	// Any valid namespace name is a valid path component, so the
	// placeholder is checked as such a name.
	path := strings.TrimSuffix(strings.ReplaceAll(prefix, portager.NamespacePlaceholder, "ns"), "/")
	if path == "" {
		return field.ErrorList{field.Invalid(fldPath, prefix, "must name at least one repository path component")}
	}
	if errs := ValidateRepositoryPath(path, fldPath); len(errs) > 0 {
		return field.ErrorList{field.Invalid(fldPath, prefix,
			"must be repository path components separated by '/', each lowercase letters and digits (optionally separated by '.', '_', '__' or '-') or {namespace}, optionally ending with '/'")}
	}
	return nil
}
