package imagesync

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/portager/portager/pkg/apis/portager"
)

// The identity stamped on an ImageSync (status.secretAccessIdentity) is kept
// whole in storage, because the controller re-checks that user's access with
// SubjectAccessReviews, which need the uid, groups and extra. Everyone who can
// read the ImageSync sees only the username: a user's groups and extra say
// more about them than a tenant's colleagues need to know. The controller
// reads the whole identity from imagesyncs/NAME/writer, which RBAC grants
// apart from the ImageSync.

// WriterREST serves GET imagesyncs/NAME/writer: the full identity of the user
// who last changed the spec.
type WriterREST struct {
	// store returns objects with the identity unredacted.
	store *genericregistry.Store
}

// New returns an empty ImageSyncWriter.
func (r *WriterREST) New() runtime.Object { return &portager.ImageSyncWriter{} }

// Destroy is a no-op: the main resource's store owns the shared storage.
func (r *WriterREST) Destroy() {}

// Get returns the writer of the ImageSync called name, with the ImageSync's
// generation, so that the controller can tell which spec this user wrote.
func (r *WriterREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	is := obj.(*portager.ImageSync)
	return &portager.ImageSyncWriter{
		ObjectMeta: metav1.ObjectMeta{
			Name: is.Name, Namespace: is.Namespace, UID: is.UID, ResourceVersion: is.ResourceVersion,
			Generation: is.Generation, CreationTimestamp: is.CreationTimestamp,
		},
		Identity: is.Status.SecretAccessIdentity.DeepCopy(),
	}, nil
}

// redactWriter is the store's decorator: every ImageSync it returns shows the
// writer's username only.
func redactWriter(obj runtime.Object) {
	switch o := obj.(type) {
	case *portager.ImageSync:
		redact(o)
	case *portager.ImageSyncList:
		for i := range o.Items {
			redact(&o.Items[i])
		}
	}
}

// redact replaces the stamped identity with one that holds the username
// only. It assigns a new value rather than editing the old one, which the
// object may share with the watch cache.
func redact(is *portager.ImageSync) {
	if id := is.Status.SecretAccessIdentity; id != nil && !redacted(id) {
		is.Status.SecretAccessIdentity = &portager.UserIdentity{Username: id.Username}
	}
}

func redacted(id *portager.UserIdentity) bool {
	return id.UID == "" && len(id.Groups) == 0 && len(id.Extra) == 0
}

// redactedCopy returns a watch event's object with the identity redacted. A
// watch may deliver an object the cache shares with other watchers, either
// as is or wrapped for serialization caching, so anything to redact is
// redacted in a copy.
func redactedCopy(obj runtime.Object) runtime.Object {
	is, ok := obj.(*portager.ImageSync)
	cached, isCached := obj.(runtime.CacheableObject)
	if isCached {
		// GetObject returns a deep copy of what the wrapper holds.
		is, ok = cached.GetObject().(*portager.ImageSync)
	}
	if !ok || is.Status.SecretAccessIdentity == nil || redacted(is.Status.SecretAccessIdentity) {
		return obj
	}
	if !isCached {
		c := *is
		is = &c
	}
	redact(is)
	return is
}
