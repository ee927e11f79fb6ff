package registryhost

import (
	"regexp"
	"strings"
)

// ECR is an Amazon ECR private registry, as named by its host.
type ECR struct {
	AccountID string
	Region    string
	// FIPS is set for the dkr.ecr-fips endpoints.
	FIPS bool
	// DualStack is set for the dkr-ecr.REGION.on.aws endpoints.
	DualStack bool
}

// ecrHost matches ACCOUNT.dkr.ecr[-fips].REGION.<partition domain> and the
// dual-stack ACCOUNT.dkr-ecr[-fips].REGION.on.aws. No port: ECR serves 443.
var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr([.-])ecr(-fips)?\.([a-z0-9][a-z0-9-]*)\.(amazonaws\.com|amazonaws\.com\.cn|on\.aws|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$`)

// ParseECR reports whether host (a registry value's host part, no path) is
// an ECR private registry, and which.
func ParseECR(host string) (ECR, bool) {
	m := ecrHost.FindStringSubmatch(strings.ToLower(host))
	if m == nil {
		return ECR{}, false
	}
	dualStack := m[5] == "on.aws"
	// dkr.ecr is the IPv4 name and dkr-ecr the dual-stack one; a mix
	// (dkr-ecr on amazonaws.com) is no ECR endpoint.
	if dualStack != (m[2] == "-") {
		return ECR{}, false
	}
	return ECR{AccountID: m[1], Region: m[4], FIPS: m[3] != "", DualStack: dualStack}, true
}

// garHost matches Artifact Registry's Docker hosts, REGION-docker.pkg.dev.
var garHost = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*-docker\.pkg\.dev$`)

// gcrHosts are Container Registry's names, which Artifact Registry serves
// since Container Registry was retired.
var gcrHosts = map[string]bool{"gcr.io": true, "us.gcr.io": true, "eu.gcr.io": true, "asia.gcr.io": true}

// IsGAR reports whether host is a Google Artifact Registry host.
func IsGAR(host string) bool {
	host = strings.ToLower(host)
	return garHost.MatchString(host) || gcrHosts[host]
}

// AzureCloud names the Azure cloud an Azure Container Registry host is in.
type AzureCloud string

const (
	AzurePublic     AzureCloud = "AzurePublic"
	AzureChina      AzureCloud = "AzureChina"
	AzureGovernment AzureCloud = "AzureGovernment"
)

// acrHost matches an Azure Container Registry login server, NAME.azurecr.io
// and its sovereign-cloud forms: a registry name is 5 to 50 letters and
// digits. No port: ACR serves 443.
var acrHost = regexp.MustCompile(`^[a-z0-9]{5,50}\.azurecr\.(io|cn|us)$`)

// acrClouds maps the last label of an ACR host to its cloud.
var acrClouds = map[string]AzureCloud{"io": AzurePublic, "cn": AzureChina, "us": AzureGovernment}

// ParseACR reports whether host is an Azure Container Registry login
// server, and in which cloud.
func ParseACR(host string) (AzureCloud, bool) {
	m := acrHost.FindStringSubmatch(strings.ToLower(host))
	if m == nil {
		return "", false
	}
	return acrClouds[m[1]], true
}

// Host returns the host[:port] part of a registry value such as
// "123456789012.dkr.ecr.us-east-1.amazonaws.com/team".
func Host(registry string) string {
	host, _, _ := strings.Cut(registry, "/")
	return strings.ToLower(host)
}

// DockerHub is the name Docker Hub's aliases normalise to: the one
// go-containerregistry reports for docker.io references.
const DockerHub = "index.docker.io"

// dockerHubHosts are the names under which Docker Hub is reached and its
// credentials are stored.
var dockerHubHosts = map[string]bool{
	"docker.io":               true,
	DockerHub:                 true,
	"registry-1.docker.io":    true,
	"registry.hub.docker.com": true,
}

// IsDockerHub reports whether host is one of Docker Hub's names.
func IsDockerHub(host string) bool { return dockerHubHosts[strings.ToLower(host)] }

// Normalize turns a credential key (a dockerconfigjson or credHelpers key)
// or a registry value into (host, path): the scheme, /v1/ or /v2/
// suffixes and case are dropped, and Docker Hub's aliases collapse into
// DockerHub. The path keeps an organisation prefix such as "my-org" in
// "cgr.dev/my-org".
func Normalize(s string) (host, path string) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	host, path, _ = strings.Cut(s, "/")
	host = strings.ToLower(host)
	path = strings.Trim(path, "/")
	if path == "v1" || path == "v2" || strings.HasPrefix(path, "v1/") || strings.HasPrefix(path, "v2/") {
		path = strings.TrimPrefix(path[2:], "/")
	}
	if dockerHubHosts[host] {
		host = DockerHub
	}
	return host, path
}
