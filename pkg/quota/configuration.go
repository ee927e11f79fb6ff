package quota

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"

	"github.com/portager/portager/pkg/apis/portager"
	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
)

// Configuration is what quota this server's resources use: each ImageSync
// counts one against count/imagesyncs.portager.portager.io in its namespace.
// client lists a namespace's ImageSyncs when usage is recalculated.
func Configuration(client clientset.Interface) quotav1.Configuration {
	list := func(namespace string) ([]runtime.Object, error) {
		items, err := client.PortagerV1alpha1().ImageSyncs(namespace).List(context.TODO(), metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		objs := make([]runtime.Object, len(items.Items))
		for i := range items.Items {
			objs[i] = &items.Items[i]
		}
		return objs, nil
	}
	return generic.NewConfiguration([]quotav1.Evaluator{
		generic.NewObjectCountEvaluator(portager.Resource("imagesyncs"), list, ""),
	}, nil)
}

// Initializer hands a quota configuration to the admission plugins that
// want one: the ResourceQuota plugin.
type Initializer struct {
	Configuration quotav1.Configuration
}

var _ admission.PluginInitializer = Initializer{}

// Initialize implements admission.PluginInitializer.
func (i Initializer) Initialize(plugin admission.Interface) {
	if wants, ok := plugin.(initializer.WantsQuotaConfiguration); ok {
		wants.SetQuotaConfiguration(i.Configuration)
	}
}
