package imagesync

import (
	"io"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/portager/portager/pkg/apis/portager"
)

// cachedObject stands in for the watch cache's serialization wrapper, which
// several watchers share: GetObject returns a deep copy of what it wraps.
type cachedObject struct {
	runtime.Object
}

func (c cachedObject) CacheEncode(runtime.Identifier, func(runtime.Object, io.Writer) error, io.Writer) error {
	return nil
}
func (c cachedObject) GetObject() runtime.Object { return c.Object.DeepCopyObject() }

var _ runtime.CacheableObject = cachedObject{}

func stamped() *portager.ImageSync {
	return &portager.ImageSync{Status: portager.ImageSyncStatus{SecretAccessIdentity: &portager.UserIdentity{
		Username: "alice", UID: "uid-alice", Groups: []string{"team-a"}, Extra: map[string]portager.ExtraValue{"k": {"v"}},
	}}}
}

func TestRedactionNeverTouchesSharedObjects(t *testing.T) {
	whole := func(is *portager.ImageSync) bool {
		id := is.Status.SecretAccessIdentity
		return id.UID == "uid-alice" && len(id.Groups) == 1 && len(id.Extra) == 1
	}
	onlyName := func(obj runtime.Object) bool {
		id := obj.(*portager.ImageSync).Status.SecretAccessIdentity
		return id.Username == "alice" && redacted(id)
	}

	shared := stamped()
	if got := redactedCopy(shared); !onlyName(got) || !whole(shared) || got == runtime.Object(shared) {
		t.Fatalf("plain object: got %+v, shared now %+v", got, shared.Status.SecretAccessIdentity)
	}

	inCache := stamped()
	if got := redactedCopy(cachedObject{inCache}); !onlyName(got) || !whole(inCache) {
		t.Fatalf("cached object: got %+v, shared now %+v", got, inCache.Status.SecretAccessIdentity)
	}

	// A shallow copy shares the identity pointer with the cache; the
	// decorator must replace the pointer, not edit what it points to.
	cached := stamped()
	served := *cached
	redactWriter(&served)
	if !onlyName(&served) || !whole(cached) {
		t.Fatalf("decorator edited the cached identity: %+v", cached.Status.SecretAccessIdentity)
	}
	list := &portager.ImageSyncList{Items: []portager.ImageSync{*cached}}
	redactWriter(list)
	if !onlyName(&list.Items[0]) || !whole(cached) {
		t.Fatalf("list decorator edited the cached identity: %+v", cached.Status.SecretAccessIdentity)
	}

	unstamped := &portager.ImageSync{}
	if got := redactedCopy(unstamped); got != runtime.Object(unstamped) {
		t.Fatal("an object with nothing to redact was copied")
	}
}
