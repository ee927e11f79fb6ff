package imagesync

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/syncer"
	"github.com/portager/portager/pkg/syncplan"
)

// maxNamedRepositories bounds the repository names one Event lists.
const maxNamedRepositories = 10

// ensureRepositories creates the destination ECR repositories that
// spec.createDestinationRepos asks for, before anything is pushed
// (syncplan.CreateRepositories). A failure is an Event and the run goes
// on: the tags whose repository is missing then fail on their own, each
// with its reason.
func (c *Controller) ensureRepositories(ctx context.Context, is *v1alpha1.ImageSync, req syncer.Request) {
	var ecr syncplan.RepositoryCreator
	if c.cfg.Cloud.ECR != nil {
		ecr = c.cfg.Cloud.ECR
	}
	created, err := syncplan.CreateRepositories(ctx, &is.Spec, req, ecr)
	if len(created) > 0 {
		c.cfg.Recorder.Eventf(is, corev1.EventTypeNormal, ReasonRepoEnsured, "Created ECR repositories: %s", nameList(created))
	}
	if err != nil {
		klog.FromContext(ctx).Info("Creating destination repositories failed", "err", err)
		c.cfg.Recorder.Event(is, corev1.EventTypeWarning, ReasonRepoEnsureFailed, err.Error())
	}
}

// nameList quotes names, at most maxNamedRepositories of them.
func nameList(names []string) string {
	shown := names
	if len(shown) > maxNamedRepositories {
		shown = shown[:maxNamedRepositories]
	}
	q := make([]string, len(shown))
	for i, n := range shown {
		q[i] = fmt.Sprintf("%q", n)
	}
	s := strings.Join(q, ", ")
	if more := len(names) - len(shown); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}
