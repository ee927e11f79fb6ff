package imagesync

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/portager/portager/pkg/apis/portager"
)

// writeCheck decides whether a write may be stored. old is nil on create.
// Checks that need the request (its user) or other objects (policies) run
// here, in the store's validation hooks, rather than in the strategy's pure
// validation; the store calls them after PrepareForCreate or
// PrepareForUpdate and before it writes.
type writeCheck func(ctx context.Context, is, old *portager.ImageSync) error

// withCreateChecks runs checks, in order, before next.
func withCreateChecks(next rest.ValidateObjectFunc, checks ...writeCheck) rest.ValidateObjectFunc {
	return func(ctx context.Context, obj runtime.Object) error {
		for _, check := range checks {
			if err := check(ctx, obj.(*portager.ImageSync), nil); err != nil {
				return err
			}
		}
		if next != nil {
			return next(ctx, obj)
		}
		return nil
	}
}

// withUpdateChecks runs checks, in order, before next.
func withUpdateChecks(next rest.ValidateObjectUpdateFunc, checks ...writeCheck) rest.ValidateObjectUpdateFunc {
	return func(ctx context.Context, obj, old runtime.Object) error {
		for _, check := range checks {
			if err := check(ctx, obj.(*portager.ImageSync), old.(*portager.ImageSync)); err != nil {
				return err
			}
		}
		if next != nil {
			return next(ctx, obj, old)
		}
		return nil
	}
}
