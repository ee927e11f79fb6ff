package integration

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/storage/etcd3/testserver"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/pkg/cmd/server"
)

// TestEncryptionAtRest checks that --encryption-provider-config keeps
// working: ImageSyncs are stored encrypted in etcd and read back in clear.
func TestEncryptionAtRest(t *testing.T) {
	etcd := testserver.RunEtcd(t, nil)
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	cfgFile := filepath.Join(t.TempDir(), "encryption.yaml")
	if err := os.WriteFile(cfgFile, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: ["imagesyncs.portager.portager.io"]
  providers:
  - aescbc:
      keys:
      - name: key1
        secret: `+key+`
  - identity: {}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	const prefix = "/encrypted-test"
	srv := startServer(t, serverConfig{etcdServers: etcd.Endpoints(), customize: func(o *server.Options) {
		o.RecommendedOptions.Etcd.EncryptionProviderConfigFilepath = cfgFile
		o.RecommendedOptions.Etcd.StorageConfig.Prefix = prefix
	}})
	ctx := context.Background()
	if _, err := srv.Client.PortagerV1alpha1().ImageSyncs(ns).Create(ctx, imagesynctest.New(ns, "secret-route"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := etcd.KV.Get(ctx, prefix+"/portager.portager.io/imagesyncs/default/secret-route")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("raw etcd read: %v (%d keys)", err, len(resp.Kvs))
	}
	raw := string(resp.Kvs[0].Value)
	if !strings.HasPrefix(raw, "k8s:enc:aescbc:v1:key1:") || strings.Contains(raw, "registry.example.com") {
		t.Fatalf("stored value is not encrypted: %.80q", raw)
	}
	got, err := srv.Client.PortagerV1alpha1().ImageSyncs(ns).Get(ctx, "secret-route", metav1.GetOptions{})
	if err != nil || got.Spec.Destination.Registry != "registry.example.com" {
		t.Fatalf("read back: %v %+v", err, got)
	}
}
