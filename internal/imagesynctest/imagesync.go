package imagesynctest

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// New returns a valid ImageSync named name in namespace: alpine's 3.21 and
// latest tags from docker.io/library to registry.example.com/mirror,
// anonymously, every six hours; then changed by mutate, in order.
func New(namespace, name string, mutate ...func(*v1alpha1.ImageSync)) *v1alpha1.ImageSync {
	is := &v1alpha1.ImageSync{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: v1alpha1.ImageSyncSpec{
			Schedule: "@every 6h",
			Source:   v1alpha1.SourceRegistry{Registry: "docker.io/library"},
			Destination: v1alpha1.DestinationRegistry{
				Registry:         "registry.example.com",
				Auth:             v1alpha1.DestinationAuth{Method: v1alpha1.AuthMethodAnonymous},
				RepositoryPrefix: "mirror",
			},
			Images: []v1alpha1.ImageSpec{{Name: "alpine", Tags: []string{"3.21", "latest"}}},
		},
	}
	for _, m := range mutate {
		m(is)
	}
	return is
}

// NewInternal is New in the API server's internal form, as validation and
// the registry strategies see it, changed by mutate.
func NewInternal(namespace, name string, mutate ...func(*portager.ImageSync)) *portager.ImageSync {
	out := &portager.ImageSync{}
	if err := v1alpha1.Convert_v1alpha1_ImageSync_To_portager_ImageSync(New(namespace, name), out, nil); err != nil {
		// The conversion of a fixed, valid object cannot fail; if it does,
		// the generated conversions are broken and every test should say so.
		panic("imagesynctest: converting the fixture: " + err.Error())
	}
	for _, m := range mutate {
		m(out)
	}
	return out
}
