package integration

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/internal/cloudfake"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/cloudauth"
	controller "github.com/portager/portager/pkg/controller/imagesync"
	"github.com/portager/portager/pkg/registryhost"
)

// TestControllerECR runs the quick start of the CRD operator Portager replaces against ECR: method
// "ecr" pushes with the controller's own token, obtained through IRSA by
// the real AWS SDK (STS and ECR are fakes: they cannot be reached from
// here), and createDestinationRepos creates the repository first. Method
// "gar" on a host that is not Artifact Registry gets no token at all.
func TestControllerECR(t *testing.T) {
	aws := cloudfake.NewAWS(t)
	env := newControllerEnv(t)
	env.dst.requireBasic("AWS", aws.Password)
	ecr := cloudauth.NewECR()
	// The loopback registry plays 123456789012.dkr.ecr.us-east-1.amazonaws.com.
	ecr.Aliases = map[string]registryhost.ECR{env.dst.Host: {AccountID: cloudfake.Account, Region: "us-east-1"}}
	env.cloud = cloudauth.Providers{ECR: ecr, GAR: cloudauth.NewGAR()}
	// The standalone server stamps its admin user as the writer.
	env.allow("portager-admin", "cloudidentities", "default/ecr", true)
	env.allow("portager-admin", "cloudidentities", "default/gar", true)
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)

	want := env.src.push(t, "upstream/alpine", "3.21")
	is := env.imageSync("ecr", "@every 6h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
	is.Spec.Destination.Auth = v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodECR}
	is.Spec.CreateDestinationRepos = true
	is.Spec.Destination.ECR = &v1alpha1.ECRRepositorySettings{ImageTagMutability: v1alpha1.ECRTagImmutable, ScanOnPush: true,
		Encryption: &v1alpha1.ECREncryption{KMSKey: "alias/mirror"}, Tags: map[string]string{"team": "platform"}}
	if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "ecr", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(got); r == nil || r.Reason != controller.ReasonSynced {
		t.Fatalf("Ready = %+v", r)
	}
	if d := env.dst.digest("mirror/alpine", "3.21"); d != want.String() {
		t.Fatalf("destination digest %q, want %s", d, want)
	}
	if !aws.HasRepository("mirror/alpine") || aws.Count("CreateRepository") != 1 || aws.Count("GetAuthorizationToken") != 1 {
		t.Fatalf("ECR calls: CreateRepository %d, GetAuthorizationToken %d; repository created: %v",
			aws.Count("CreateRepository"), aws.Count("GetAuthorizationToken"), aws.HasRepository("mirror/alpine"))
	}
	// spec.destination.ecr travels through the API server to the
	// CreateRepository call.
	if call, _ := aws.Created("mirror/alpine"); call.ImageTagMutability != "IMMUTABLE" || call.ImageScanningConfiguration == nil ||
		!call.ImageScanningConfiguration.ScanOnPush || call.EncryptionConfiguration == nil ||
		call.EncryptionConfiguration.EncryptionType != "KMS" || call.EncryptionConfiguration.KMSKey != "alias/mirror" ||
		len(call.Tags) != 1 || call.Tags[0].Key != "team" || call.Tags[0].Value != "platform" {
		t.Fatalf("CreateRepository = %+v, want spec.destination.ecr's settings", call)
	}
	events := env.drainEvents()
	if countPrefix(events, `Normal RepoEnsured Created ECR repositories: "mirror/alpine"`) != 1 {
		t.Fatalf("events %q, want one RepoEnsured", events)
	}

	gar := env.imageSync("gar-elsewhere", "@every 6h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
	gar.Spec.Destination.Auth = v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodGAR}
	if _, err := c.Create(ctx, gar, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got = env.waitFor(t, "gar-elsewhere", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(got); r == nil || r.Reason != controller.ReasonCredentialsUnavailable ||
		!strings.Contains(r.Message, "is not a Google Artifact Registry host") {
		t.Fatalf("Ready = %+v, want CredentialsUnavailable naming the host", r)
	}
}

// TestControllerRechecksCloudIdentity checks that the controller asks again,
// before each run, whether the writer may use the cloud identity: once the
// permission is gone, the run fails with CredentialAccessDenied and no token
// is fetched.
func TestControllerRechecksCloudIdentity(t *testing.T) {
	aws := cloudfake.NewAWS(t)
	env := newControllerEnv(t)
	env.dst.requireBasic("AWS", aws.Password)
	ecr := cloudauth.NewECR()
	ecr.Aliases = map[string]registryhost.ECR{env.dst.Host: {AccountID: cloudfake.Account, Region: "us-east-1"}}
	env.cloud = cloudauth.Providers{ECR: ecr}
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	env.src.push(t, "upstream/alpine", "3.21")

	requests := env.src.requests() + env.dst.requests()
	is := env.imageSync("ecr-revoked", "@every 6h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
	is.Spec.Destination.Auth = v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodECR}
	if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "ecr-revoked", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	r := ready(got)
	if r == nil || r.Reason != controller.ReasonCredentialAccessDenied ||
		!strings.Contains(r.Message, `spec.destination.auth.method: cloud identity "ecr" not used: user "portager-admin" may no longer use it`) {
		t.Fatalf("Ready = %+v, want CredentialAccessDenied naming the method", r)
	}
	if n := aws.Count("GetAuthorizationToken"); n != 0 {
		t.Fatalf("GetAuthorizationToken calls = %d, want 0", n)
	}
	if n := env.src.requests() + env.dst.requests() - requests; n != 0 {
		t.Fatalf("registry requests = %d, want 0", n)
	}
}

// TestControllerSourceECR pulls from ECR with the controller's own identity
// (spec.source.auth.method "ecr"): the token goes to the source registry and
// to no other host. Once the writer may no longer use cloudidentities/ecr, a
// run fetches no token and sends no registry request.
func TestControllerSourceECR(t *testing.T) {
	aws := cloudfake.NewAWS(t)
	env := newControllerEnv(t)
	want := env.src.push(t, "upstream/alpine", "3.21")
	env.src.requireBasic("AWS", aws.Password)
	ecr := cloudauth.NewECR()
	// The loopback source plays 123456789012.dkr.ecr.us-east-1.amazonaws.com.
	ecr.Aliases = map[string]registryhost.ECR{env.src.Host: {AccountID: cloudfake.Account, Region: "us-east-1"}}
	env.cloud = cloudauth.Providers{ECR: ecr}
	env.allow("portager-admin", "cloudidentities", "default/ecr", true)
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)

	is := env.imageSync("from-ecr", "@every 6h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
	is.Spec.Source.Auth = &v1alpha1.SourceAuth{Method: v1alpha1.AuthMethodECR}
	if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "from-ecr", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(got); r == nil || r.Reason != controller.ReasonSynced {
		t.Fatalf("Ready = %+v", r)
	}
	if d := env.dst.digest("mirror/alpine", "3.21"); d != want.String() {
		t.Fatalf("destination digest %q, want %s", d, want)
	}
	if n := aws.Count("GetAuthorizationToken"); n != 1 {
		t.Fatalf("GetAuthorizationToken calls = %d, want 1", n)
	}
	for _, r := range env.dst.Requests() {
		if r.Authorization != "" {
			t.Fatalf("the anonymous destination got credentials: %s %s", r.Method, r.Path)
		}
	}

	env.allow("portager-admin", "cloudidentities", "default/ecr", false)
	requests := env.src.requests() + env.dst.requests()
	denied := env.imageSync("from-ecr-revoked", "@every 6h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
	denied.Spec.Source.Auth = &v1alpha1.SourceAuth{Method: v1alpha1.AuthMethodECR}
	if _, err := c.Create(ctx, denied, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got = env.waitFor(t, "from-ecr-revoked", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(got); r == nil || r.Reason != controller.ReasonCredentialAccessDenied ||
		!strings.Contains(r.Message, `spec.source.auth.method: cloud identity "ecr" not used: user "portager-admin" may no longer use it`) {
		t.Fatalf("Ready = %+v, want CredentialAccessDenied naming spec.source.auth.method", r)
	}
	if n := aws.Count("GetAuthorizationToken"); n != 1 {
		t.Fatalf("GetAuthorizationToken calls = %d, want no more than the first run's 1", n)
	}
	if n := env.src.requests() + env.dst.requests() - requests; n != 0 {
		t.Fatalf("registry requests = %d, want 0", n)
	}
}

// TestControllerACR pushes to Azure Container Registry with the controller's
// Azure Workload Identity: the real azidentity library gets an Entra ID token
// (Entra ID and the registry's /oauth2/exchange are fakes: they cannot be
// reached from here) and the registry admits only the refresh token it was
// exchanged for. A writer who may not use cloudidentities/acr gets no Entra
// ID request made for them; the source never sees a credential.
func TestControllerACR(t *testing.T) {
	azure := cloudfake.NewAzure(t)
	env := newControllerEnv(t)
	env.dst.requireBasic(cloudfake.ACRUser, azure.RefreshToken)
	env.dst.AddFault(azure.ExchangeFault(env.dst.Registry))
	acr := cloudauth.NewACR()
	// The loopback registry plays NAME.azurecr.io.
	acr.Aliases = map[string]string{env.dst.Host: "http://" + env.dst.Host}
	acr.CredentialOptions = azure.CredentialOptions()
	env.cloud = cloudauth.Providers{ACR: acr}
	env.startController(t)
	ctx := context.Background()
	c := env.srv.Client.PortagerV1alpha1().ImageSyncs(ns)
	want := env.src.push(t, "upstream/alpine", "3.21")

	denied := env.imageSync("acr-denied", "@every 6h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
	denied.Spec.Destination.Auth = v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodACR}
	if _, err := c.Create(ctx, denied, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := env.waitFor(t, "acr-denied", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(got); r == nil || r.Reason != controller.ReasonCredentialAccessDenied ||
		!strings.Contains(r.Message, `spec.destination.auth.method: cloud identity "acr" not used`) {
		t.Fatalf("Ready = %+v, want CredentialAccessDenied", r)
	}
	if n := azure.TokenRequests(cloudfake.ACRScope) + azure.TokenRequests(cloudfake.ARMScope) + azure.Exchanges(); n != 0 {
		t.Fatalf("Entra ID and exchange requests for a writer without cloudidentities/acr = %d, want 0", n)
	}

	env.allow("portager-admin", "cloudidentities", "default/acr", true)
	is := env.imageSync("acr", "@every 6h", v1alpha1.ImageSpec{Name: "alpine", Tags: []string{"3.21"}})
	is.Spec.Destination.Auth = v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodACR}
	if _, err := c.Create(ctx, is, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got = env.waitFor(t, "acr", "first run", func(is *v1alpha1.ImageSync) bool { return is.Status.ObservedGeneration == 1 })
	if r := ready(got); r == nil || r.Reason != controller.ReasonSynced {
		t.Fatalf("Ready = %+v", r)
	}
	if d := env.dst.digest("mirror/alpine", "3.21"); d != want.String() {
		t.Fatalf("destination digest %q, want %s", d, want)
	}
	if a, e := azure.TokenRequests(cloudfake.ACRScope), azure.Exchanges(); a != 1 || e != 1 {
		t.Fatalf("Entra ID token requests %d, exchanges %d; want 1 and 1", a, e)
	}
	for _, r := range env.src.Requests() {
		if r.Authorization != "" {
			t.Fatalf("the source got credentials: %s %s", r.Method, r.Path)
		}
	}
}
