package registryhost

import "testing"

func TestParseECR(t *testing.T) {
	tests := []struct {
		host string
		want ECR
		ok   bool
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", ECR{AccountID: "123456789012", Region: "us-east-1"}, true},
		{"123456789012.DKR.ECR.US-GOV-WEST-1.AMAZONAWS.COM", ECR{AccountID: "123456789012", Region: "us-gov-west-1"}, true},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", ECR{AccountID: "123456789012", Region: "us-gov-west-1", FIPS: true}, true},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ECR{AccountID: "123456789012", Region: "cn-north-1"}, true},
		{"123456789012.dkr-ecr.eu-west-1.on.aws", ECR{AccountID: "123456789012", Region: "eu-west-1", DualStack: true}, true},
		{"123456789012.dkr-ecr.eu-west-1.amazonaws.com", ECR{}, false},
		{"123456789012.dkr.ecr.eu-west-1.on.aws", ECR{}, false},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com:443", ECR{}, false},
		{"12345678901.dkr.ecr.us-east-1.amazonaws.com", ECR{}, false},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", ECR{}, false},
		{"evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com", ECR{}, false},
		{"public.ecr.aws", ECR{}, false},
		{"127.0.0.1:5000", ECR{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseECR(tt.host)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseECR(%q) = %+v, %v; want %+v, %v", tt.host, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIsGAR(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"us-docker.pkg.dev", true},
		{"europe-west4-docker.pkg.dev", true},
		{"EU-DOCKER.PKG.DEV", true},
		{"gcr.io", true},
		{"eu.gcr.io", true},
		{"us-docker.pkg.dev.evil.example", false},
		{"us-docker.pkg.dev:443", false},
		{"evil-gcr.io", false},
		{"docker.pkg.dev", false},
		{"us-python.pkg.dev", false},
		{"ghcr.io", false},
	}
	for _, tt := range tests {
		if got := IsGAR(tt.host); got != tt.want {
			t.Errorf("IsGAR(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestParseACR(t *testing.T) {
	tests := []struct {
		host  string
		cloud AzureCloud
		ok    bool
	}{
		{"myregistry.azurecr.io", AzurePublic, true},
		{"MyRegistry.AzureCR.io", AzurePublic, true},
		{"contoso01.azurecr.cn", AzureChina, true},
		{"govmirror.azurecr.us", AzureGovernment, true},
		{"myregistry.azurecr.io:443", "", false},
		{"myregistry.azurecr.io.evil.example", "", false},
		{"evil.example/myregistry.azurecr.io", "", false},
		{"my-registry.azurecr.io", "", false},
		{"abcd.azurecr.io", "", false},
		{"myregistry.westeurope.data.azurecr.io", "", false},
		{"azurecr.io", "", false},
		{"myregistry.azurecr.de", "", false},
		{"myregistry.azurecr.com", "", false},
	}
	for _, tt := range tests {
		cloud, ok := ParseACR(tt.host)
		if cloud != tt.cloud || ok != tt.ok {
			t.Errorf("ParseACR(%q) = %q, %v; want %q, %v", tt.host, cloud, ok, tt.cloud, tt.ok)
		}
	}
}

func TestHost(t *testing.T) {
	for registry, want := range map[string]string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"us-docker.pkg.dev/my-project/mirror":          "us-docker.pkg.dev",
		"Localhost:5000/a/b":                           "localhost:5000",
	} {
		if got := Host(registry); got != want {
			t.Errorf("Host(%q) = %q, want %q", registry, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, host, path string
	}{
		{"https://index.docker.io/v1/", DockerHub, ""},
		{"docker.io", DockerHub, ""},
		{"registry-1.docker.io/library", DockerHub, "library"},
		{"Registry.Hub.Docker.com", DockerHub, ""},
		{"cgr.dev/my-org", "cgr.dev", "my-org"},
		{"https://ghcr.io/v2/owner/", "ghcr.io", "owner"},
		{"http://127.0.0.1:5000", "127.0.0.1:5000", ""},
		{" quay.io ", "quay.io", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if host, path := Normalize(tt.in); host != tt.host || path != tt.path {
			t.Errorf("Normalize(%q) = %q, %q; want %q, %q", tt.in, host, path, tt.host, tt.path)
		}
	}
	for host, want := range map[string]bool{"docker.io": true, "INDEX.DOCKER.IO": true, "ghcr.io": false, "docker.io.evil.example": false} {
		if got := IsDockerHub(host); got != want {
			t.Errorf("IsDockerHub(%q) = %v, want %v", host, got, want)
		}
	}
}
