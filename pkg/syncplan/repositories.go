package syncplan

import (
	"context"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/registryhost"
	"github.com/portager/portager/pkg/syncer"
)

// RepositoryCreator creates the repositories of a registry host that are
// missing, with settings (nil: the registry's defaults), returning the names
// it created (cloudauth.ECR).
type RepositoryCreator interface {
	EnsureRepositories(ctx context.Context, host string, repos []string, settings *v1alpha1.ECRRepositorySettings) (created []string, err error)
}

// CreateRepositories creates the destination repositories of req with ecr
// when spec asks for it: spec.createDestinationRepos with method "ecr",
// which, unlike most registries, refuses a push to a repository that does
// not exist, with the settings of spec.destination.ecr. ecr is nil when
// there is no ECR provider, and a dry run creates nothing. It returns the repositories it created, also when it
// fails part way; the caller reports both and runs on, so that tags whose
// repository is missing fail on their own, each with its reason.
func CreateRepositories(ctx context.Context, spec *v1alpha1.ImageSyncSpec, req syncer.Request, ecr RepositoryCreator) (created []string, err error) {
	if !spec.CreateDestinationRepos || spec.Destination.Auth.Method != v1alpha1.AuthMethodECR || ecr == nil || req.DryRun {
		return nil, nil
	}
	return ecr.EnsureRepositories(ctx, registryhost.Host(spec.Destination.Registry), req.DestinationRepositories(), spec.Destination.ECR)
}
