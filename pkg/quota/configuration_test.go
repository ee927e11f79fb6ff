package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/generated/clientset/versioned/fake"
)

// wantsQuota is an admission plugin that asks for the quota configuration.
type wantsQuota struct {
	admission.Interface
	got quotav1.Configuration
}

func (w *wantsQuota) SetQuotaConfiguration(c quotav1.Configuration) { w.got = c }
func (w *wantsQuota) ValidateInitialization() error                 { return nil }

func TestImageSyncsCountAgainstQuota(t *testing.T) {
	client := fake.NewClientset(
		&v1alpha1.ImageSync{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "team-a"}},
		&v1alpha1.ImageSync{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "team-a"}},
		&v1alpha1.ImageSync{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "team-b"}},
	)
	plugin := &wantsQuota{}
	Initializer{Configuration: Configuration(client)}.Initialize(plugin)
	if plugin.got == nil || len(plugin.got.Evaluators()) != 1 {
		t.Fatalf("configuration handed over: %+v", plugin.got)
	}
	e := plugin.got.Evaluators()[0]
	if e.GroupResource() != portager.Resource("imagesyncs") {
		t.Fatalf("evaluator for %s", e.GroupResource())
	}
	name := corev1.ResourceName("count/imagesyncs.portager.portager.io")
	usage, err := e.Usage(&portager.ImageSync{})
	if err != nil || !usage[name].Equal(resource.MustParse("1")) {
		t.Fatalf("one ImageSync costs %v (%v), want 1 %s", usage, err, name)
	}
	stats, err := e.UsageStats(quotav1.UsageStatsOptions{Namespace: "team-a", Resources: []corev1.ResourceName{name}})
	if err != nil {
		t.Fatal(err)
	}
	if got := stats.Used[name]; !got.Equal(resource.MustParse("2")) {
		t.Fatalf("team-a uses %v, want 2", got.String())
	}
}
