package syncplan

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// recordingCreator records the host and repositories it was asked to
// create, and creates the first of them before failing with err.
type recordingCreator struct {
	host     string
	repos    []string
	settings *v1alpha1.ECRRepositorySettings
	err      error
}

func (c *recordingCreator) EnsureRepositories(_ context.Context, host string, repos []string, settings *v1alpha1.ECRRepositorySettings) ([]string, error) {
	c.host, c.repos, c.settings = host, repos, settings
	if c.err != nil {
		return repos[:1], c.err
	}
	return repos, nil
}

func TestCreateRepositories(t *testing.T) {
	errQuota := errors.New("quota exceeded")
	settings := &v1alpha1.ECRRepositorySettings{ImageTagMutability: v1alpha1.ECRTagImmutable, ScanOnPush: true}
	cases := []struct {
		name     string
		create   bool
		method   v1alpha1.AuthMethod
		noECR    bool
		dryRun   bool
		err      error
		settings *v1alpha1.ECRRepositorySettings
		asked    bool
		created  []string
	}{
		{name: "ecr with createDestinationRepos", create: true, method: v1alpha1.AuthMethodECR,
			asked: true, created: []string{"team/mirror/alpine", "team/mirror/go"}},
		{name: "with spec.destination.ecr", create: true, method: v1alpha1.AuthMethodECR, settings: settings,
			asked: true, created: []string{"team/mirror/alpine", "team/mirror/go"}},
		{name: "a failure keeps what was created", create: true, method: v1alpha1.AuthMethodECR, err: errQuota,
			asked: true, created: []string{"team/mirror/alpine"}},
		{name: "not asked for", method: v1alpha1.AuthMethodECR},
		{name: "another method", create: true, method: v1alpha1.AuthMethodGAR},
		{name: "a Secret for ECR", create: true, method: v1alpha1.AuthMethodSecret},
		{name: "no ECR provider", create: true, method: v1alpha1.AuthMethodECR, noECR: true},
		{name: "a dry run creates nothing", create: true, method: v1alpha1.AuthMethodECR, dryRun: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := &v1alpha1.ImageSyncSpec{
				Source: v1alpha1.SourceRegistry{Registry: "docker.io/library"},
				Destination: v1alpha1.DestinationRegistry{Registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team",
					RepositoryPrefix: "mirror", Auth: v1alpha1.DestinationAuth{Method: tc.method}, ECR: tc.settings},
				Images:                 []v1alpha1.ImageSpec{{Name: "alpine", Tags: []string{"3.21"}}, {Name: "go", Tags: []string{"1.24"}}},
				CreateDestinationRepos: tc.create,
			}
			req, err := Request(spec, Credentials{})
			if err != nil {
				t.Fatal(err)
			}
			req.DryRun = tc.dryRun
			ecr := &recordingCreator{err: tc.err}
			var creator RepositoryCreator = ecr
			if tc.noECR {
				creator = nil
			}
			created, err := CreateRepositories(context.Background(), spec, req, creator)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(created, tc.created) {
				t.Fatalf("created = %q, want %q", created, tc.created)
			}
			if asked := ecr.repos != nil; asked != tc.asked {
				t.Fatalf("creator asked = %v, want %v", asked, tc.asked)
			}
			if tc.asked && (ecr.host != "123456789012.dkr.ecr.eu-west-1.amazonaws.com" || !reflect.DeepEqual(ecr.repos, req.DestinationRepositories())) {
				t.Fatalf("asked for %s %q, want the destination host and %q", ecr.host, ecr.repos, req.DestinationRepositories())
			}
			if ecr.settings != tc.settings {
				t.Fatalf("settings = %+v, want spec.destination.ecr %+v", ecr.settings, tc.settings)
			}
		})
	}
}
