package integration

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/portager/portager/internal/imagesynctest"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// internalRegistries are the forms of an internal host a tenant might name:
// loopback, link-local and metadata, private and shared address space,
// unspecified, and cluster or cloud-internal names.
var internalRegistries = []string{
	"127.0.0.1:2379", "[::1]:5000", "169.254.169.254", "[fe80::1]", "[fd00:ec2::254]",
	"10.0.0.5", "172.16.0.1:6443", "192.168.1.1", "[fc00::1]", "100.64.0.1", "0.0.0.0", "[::]",
	"localhost:5000", "registry.localhost", "kubernetes.default.svc", "etcd.kube-system.svc.cluster.local",
	"metadata.google.internal", "harbor.internal", "kubernetes.default",
}

// TestRegistryPolicyAdmission checks what the API server lets an ImageSync
// name as its registries, with and without RegistryPolicies.
func TestRegistryPolicyAdmission(t *testing.T) {
	srv := startServer(t, serverConfig{etcdServers: startEtcd(t)})
	ctx := context.Background()
	c := srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	policies := srv.Client.PortagerV1alpha1().RegistryPolicies()

	t.Run("no policy: every internal form is refused on both sides", func(t *testing.T) {
		for _, host := range internalRegistries {
			_, err := c.Create(ctx, imagesynctest.New(ns, "internal-src", func(is *v1alpha1.ImageSync) { is.Spec.Source.Registry = host + "/org" }), metav1.CreateOptions{})
			assertInvalidAt(t, err, "spec.source.registry", "internal host")
			_, err = c.Create(ctx, imagesynctest.New(ns, "internal-dst", func(is *v1alpha1.ImageSync) { is.Spec.Destination.Registry = host }), metav1.CreateOptions{})
			assertInvalidAt(t, err, "spec.destination.registry", "internal host")
		}
		list, err := c.List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 0 {
			t.Fatalf("refused objects were stored: %v %v", list, err)
		}
	})

	t.Run("no policy: public hosts are accepted", func(t *testing.T) {
		if _, err := c.Create(ctx, imagesynctest.New(ns, "public"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	if _, err := policies.Create(ctx, &v1alpha1.RegistryPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "local-registry"},
		Spec: v1alpha1.RegistryPolicySpec{
			Sources:      []v1alpha1.RegistryEntry{{Registry: "127.0.0.1:5000"}},
			Destinations: []v1alpha1.RegistryEntry{{Registry: "registry.example.com", RepositoryPrefix: "{namespace}/"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("a policy naming 127.0.0.1:5000 admits exactly that", func(t *testing.T) {
		ok := imagesynctest.New(ns, "local", func(is *v1alpha1.ImageSync) {
			is.Spec.Source.Registry = "127.0.0.1:5000/upstream"
			is.Spec.Destination.RepositoryPrefix = ns + "/mirror"
		})
		if _, err := c.Create(ctx, ok, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"127.0.0.1:2379", "127.0.0.1", "127.0.0.2:5000", "localhost:5000"} {
			_, err := c.Create(ctx, imagesynctest.New(ns, "other", func(is *v1alpha1.ImageSync) {
				is.Spec.Source.Registry = host
				is.Spec.Destination.RepositoryPrefix = ns
			}), metav1.CreateOptions{})
			assertInvalidAt(t, err, "spec.source.registry", `RegistryPolicy "local-registry" would have to allow it`)
		}
	})

	t.Run("a selecting policy refuses a public host it does not list", func(t *testing.T) {
		_, err := c.Create(ctx, imagesynctest.New(ns, "quay", func(is *v1alpha1.ImageSync) {
			is.Spec.Source.Registry = "quay.io/org"
			is.Spec.Destination.RepositoryPrefix = ns
		}), metav1.CreateOptions{})
		assertInvalidAt(t, err, "spec.source.registry", `host "quay.io" is not allowed for namespace "default": RegistryPolicy "local-registry" would have to allow it`)
	})

	t.Run("the repository prefix bounds destination repositories", func(t *testing.T) {
		_, err := c.Create(ctx, imagesynctest.New(ns, "elsewhere", func(is *v1alpha1.ImageSync) {
			is.Spec.Source.Registry = "127.0.0.1:5000"
			is.Spec.Destination.RepositoryPrefix = "other-team"
		}), metav1.CreateOptions{})
		assertInvalidAt(t, err, "spec.destination.repositoryPrefix", `repository "other-team/alpine" of spec.images[0] is outside what namespace "default" may write`)
	})

	t.Run("a policy tightened later refuses spec changes, not metadata changes", func(t *testing.T) {
		// "public" was accepted before any policy; its source is not listed.
		if _, err := c.Patch(ctx, "public", types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"a"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatalf("label patch: %v", err)
		}
		_, err := c.Patch(ctx, "public", types.MergePatchType, []byte(`{"spec":{"schedule":"@every 12h"}}`), metav1.PatchOptions{})
		assertInvalidAt(t, err, "spec.source.registry", `RegistryPolicy "local-registry" would have to allow it`)
	})

	t.Run("RegistryPolicy validation names the field", func(t *testing.T) {
		_, err := policies.Create(ctx, &v1alpha1.RegistryPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "bad"},
			Spec:       v1alpha1.RegistryPolicySpec{Sources: []v1alpha1.RegistryEntry{{Registry: "10.0.0.1/8"}}},
		}, metav1.CreateOptions{})
		assertInvalidAt(t, err, "spec.sources[0].registry", "host bits are set")
	})

	t.Run("kubectl get shows what each policy allows", func(t *testing.T) {
		table := &metav1.Table{}
		err := srv.Client.PortagerV1alpha1().RESTClient().Get().Resource("registrypolicies").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(table)
		if err != nil {
			t.Fatal(err)
		}
		if len(table.Rows) != 1 {
			t.Fatalf("rows = %+v", table.Rows)
		}
		cells := table.Rows[0].Cells
		want := []any{"local-registry", "<all>", "127.0.0.1:5000", "registry.example.com/{namespace}/"}
		for i, w := range want {
			if cells[i] != w {
				t.Errorf("cell %d (%s) = %v, want %v", i, table.ColumnDefinitions[i].Name, cells[i], w)
			}
		}
	})

	t.Run("RegistryPolicies are cluster-scoped", func(t *testing.T) {
		err := srv.Client.PortagerV1alpha1().RESTClient().Get().Namespace(ns).Resource("registrypolicies").Do(ctx).Error()
		if !apierrors.IsNotFound(err) {
			t.Fatalf("namespaced path: %v, want 404", err)
		}
		resources, err := srv.Client.Discovery().ServerResourcesForGroupVersion("portager.portager.io/v1alpha1")
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]metav1.APIResource{}
		for _, r := range resources.APIResources {
			found[r.Name] = r
		}
		if r, ok := found["registrypolicies"]; !ok || r.Namespaced || r.Kind != "RegistryPolicy" || !strings.Contains(strings.Join(r.ShortNames, ","), "rpol") {
			t.Fatalf("registrypolicies in discovery: %+v", r)
		}
		if r, ok := found["imagesyncs/writer"]; !ok || r.Kind != "ImageSyncWriter" || strings.Join(r.Verbs, ",") != "get" {
			t.Fatalf("imagesyncs/writer in discovery: %+v", r)
		}
	})
}
