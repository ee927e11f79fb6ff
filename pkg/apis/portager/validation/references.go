package validation

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/portager/portager/pkg/apis/portager"
)

// The OCI distribution spec grammar for references.
var (
	// pathComponentRegexp is one repository path component.
	pathComponentRegexp = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	// domainComponentRegexp is one DNS label of a registry host.
	domainComponentRegexp = regexp.MustCompile(`^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$`)
	// tagRegexp leaves the length to ValidateTag: a bounded repetition
	// would compile into 128 copies of the class, about a millisecond of
	// every CLI start.
	tagRegexp    = regexp.MustCompile(`^\w[\w.-]*$`)
	digestRegexp = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`)
)

// MaxTagLength is the distribution spec's limit on a tag.
const MaxTagLength = 128

// MaxReferenceNameLength is the distribution spec's limit on a repository name
// including its registry host.
const MaxReferenceNameLength = 255

// ValidateRegistry checks a registry written as host[:port][/path]: no scheme,
// no credentials, no whitespace, and a path of valid repository components.
func ValidateRegistry(registry string, fldPath *field.Path) field.ErrorList {
	if registry == "" {
		return field.ErrorList{field.Required(fldPath, `a registry host such as "ghcr.io" or "cgr.dev/my-org"`)}
	}
	invalid := func(msg string) field.ErrorList {
		return field.ErrorList{field.Invalid(fldPath, registry, msg)}
	}
	switch {
	case len(registry) > MaxReferenceNameLength:
		return field.ErrorList{field.TooLong(fldPath, "", MaxReferenceNameLength)}
	case strings.IndexFunc(registry, unicode.IsSpace) >= 0:
		return invalid("must not contain whitespace")
	case strings.Contains(registry, "://"):
		return invalid("must not include a scheme: write the host and optional path only, e.g. \"ghcr.io/org\"")
	case strings.Contains(registry, "@"):
		return invalid("must not contain credentials: use a Secret reference")
	case strings.ContainsAny(registry, "?#"):
		return invalid("must not contain a query or fragment")
	}

	host, path, _ := strings.Cut(registry, "/")
	if msg := validateHostPort(host); msg != "" {
		return invalid(msg)
	}
	if path != "" || strings.HasSuffix(registry, "/") {
		for _, c := range strings.Split(path, "/") {
			if !pathComponentRegexp.MatchString(c) {
				return invalid(fmt.Sprintf("path component %q must be lowercase letters and digits, optionally separated by '.', '_', '__' or '-'", c))
			}
		}
	}
	return nil
}

func validateHostPort(hostport string) string {
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.Index(hostport, "]")
		if end < 0 {
			return "IPv6 host must be closed with ']'"
		}
		host, port = hostport[1:end], strings.TrimPrefix(hostport[end+1:], ":")
		if hostport[end+1:] != "" && !strings.HasPrefix(hostport[end+1:], ":") {
			return "host must be host[:port]"
		}
		if !strings.Contains(host, ":") {
			return fmt.Sprintf("%q is not an IPv6 address", host)
		}
	} else if h, p, ok := strings.Cut(hostport, ":"); ok {
		host, port = h, p
		if port == "" {
			return "port must not be empty"
		}
	}
	if host == "" {
		return "host must not be empty"
	}
	if !strings.HasPrefix(hostport, "[") {
		for _, label := range strings.Split(host, ".") {
			if !domainComponentRegexp.MatchString(label) {
				return fmt.Sprintf("host %q is not a valid DNS name or IP address", host)
			}
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("port %q must be a number between 1 and 65535", port)
		}
	}
	return ""
}

// ValidateRepositoryPath checks an image name or repository prefix: one or more
// path components separated by '/'.
func ValidateRepositoryPath(path string, fldPath *field.Path) field.ErrorList {
	if len(path) > MaxReferenceNameLength {
		return field.ErrorList{field.TooLong(fldPath, "", MaxReferenceNameLength)}
	}
	for _, c := range strings.Split(path, "/") {
		if !pathComponentRegexp.MatchString(c) {
			return field.ErrorList{field.Invalid(fldPath, path,
				fmt.Sprintf("path component %q must be lowercase letters and digits, optionally separated by '.', '_', '__' or '-', with components separated by '/'", c))}
		}
	}
	return nil
}

// ValidateTag checks a tag against the distribution spec: up to 128 characters
// of [A-Za-z0-9_.-], not starting with '.' or '-'.
func ValidateTag(tag string, fldPath *field.Path) field.ErrorList {
	if tag == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	if len(tag) > MaxTagLength || !tagRegexp.MatchString(tag) {
		return field.ErrorList{field.Invalid(fldPath, tag, "must be at most 128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'")}
	}
	return nil
}

// ValidatePublicKey checks that a PEM block holds a public key cosign can use.
func ValidatePublicKey(key string, fldPath *field.Path) field.ErrorList {
	if len(key) > MaxPublicKeyLength {
		return field.ErrorList{field.TooLong(fldPath, "", MaxPublicKeyLength)}
	}
	// The value is not echoed back: it is long and says nothing the user lacks.
	invalid := func(msg string) field.ErrorList {
		return field.ErrorList{field.Invalid(fldPath, "<PEM public key>", msg)}
	}
	block, _ := pem.Decode([]byte(strings.TrimSpace(key)))
	if block == nil {
		return invalid("must be a PEM-encoded public key (-----BEGIN PUBLIC KEY-----)")
	}
	if block.Type != "PUBLIC KEY" {
		return invalid(fmt.Sprintf("PEM block is %q, expected \"PUBLIC KEY\"", block.Type))
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return invalid(fmt.Sprintf("PEM block does not hold a PKIX public key: %v", err))
	}
	return nil
}

func validateIssuer(issuer string, fldPath *field.Path) field.ErrorList {
	if len(issuer) > MaxIssuerLength {
		return field.ErrorList{field.TooLong(fldPath, "", MaxIssuerLength)}
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return field.ErrorList{field.Invalid(fldPath, issuer, "must be an https URL of an OIDC issuer, e.g. \"https://token.actions.githubusercontent.com\"")}
	}
	return nil
}

func validateRegexp(expr string, fldPath *field.Path) field.ErrorList {
	if len(expr) > MaxIdentityLength {
		return field.ErrorList{field.TooLong(fldPath, "", MaxIdentityLength)}
	}
	if _, err := regexp.Compile(expr); err != nil {
		return field.ErrorList{field.Invalid(fldPath, expr, fmt.Sprintf("not a valid RE2 regular expression: %v", err))}
	}
	return nil
}

// DestinationRepository is the full destination repository name of an image:
// registry, optional prefix and image name, joined by '/'.
func DestinationRepository(spec *portager.ImageSyncSpec, image string) string {
	parts := []string{strings.TrimSuffix(spec.Destination.Registry, "/")}
	if p := strings.Trim(spec.Destination.RepositoryPrefix, "/"); p != "" {
		parts = append(parts, p)
	}
	return strings.Join(append(parts, image), "/")
}
