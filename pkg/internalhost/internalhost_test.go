package internalhost

import (
	"net/netip"
	"testing"
)

func TestIs(t *testing.T) {
	internal := []string{
		// loopback, link-local and metadata addresses
		"127.0.0.1", "127.1.2.3", "::1", "[::1]", "169.254.169.254", "fd00:ec2::254", "fe80::1",
		// private, shared and unspecified address space
		"10.0.0.5", "172.16.3.4", "192.168.1.1", "100.64.0.1", "fc00::1", "0.0.0.0", "::",
		// IPv4-mapped IPv6
		"::ffff:127.0.0.1", "::ffff:10.0.0.5",
		// names
		"localhost", "LOCALHOST", "registry.localhost", "kubernetes.default.svc", "etcd.kube-system.svc",
		"kubernetes.default.svc.cluster.local", "metadata.google.internal", "harbor.internal", "printer.local",
		// completed by a pod's search path, or shorthand IPv4
		"kubernetes", "kubernetes.default", "registry", "127.1", "0x7f.1", "2130706433", "harbor.corp",
	}
	public := []string{"docker.io", "index.docker.io", "ghcr.io", "cgr.dev", "quay.io", "registry.k8s.io",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com", "us-docker.pkg.dev", "public.ecr.aws", "myreg.azurecr.io",
		"8.8.8.8", "2606:4700::1111", "registry.example.com"}
	for _, h := range internal {
		if !Is(h) {
			t.Errorf("Is(%q) = false, want true", h)
		}
	}
	for _, h := range public {
		if Is(h) {
			t.Errorf("Is(%q) = true, want false", h)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true}, {"93.184.216.34", true}, {"2606:4700::1111", true},
		{"127.0.0.1", false}, {"169.254.169.254", false}, {"10.0.0.5", false}, {"::1", false},
		{"fd00:ec2::254", false}, {"::ffff:169.254.169.254", false}, {"100.64.0.1", false}, {"0.0.0.0", false},
	} {
		if got := PublicAddr(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("PublicAddr(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}
