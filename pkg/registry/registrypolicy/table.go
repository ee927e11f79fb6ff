package registrypolicy

import (
	"context"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/portager/portager/pkg/apis/portager"

	"github.com/portager/portager/pkg/registry/table"
)

// tableConvertor prints RegistryPolicies for kubectl get, so that what each
// allows shows at a glance.
type tableConvertor struct{}

var _ rest.TableConvertor = tableConvertor{}

// maxCell bounds a printed list; -o yaml shows the whole policy.
const maxCell = 120

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the RegistryPolicy."},
	{Name: "Namespaces", Type: "string", Description: "The namespaces it selects: a label selector, or <all>."},
	{Name: "Sources", Type: "string", Description: "Registries the selected ImageSyncs may pull from; <any public> when unrestricted."},
	{Name: "Destinations", Type: "string", Description: "Registries (with repository prefixes) they may push to; <any public> when unrestricted."},
	{Name: "Age", Type: "string", Description: "Time since the RegistryPolicy was created."},
}

func (tableConvertor) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	now := time.Now()
	return table.Convert(object, tableOptions, columns, func(p *portager.RegistryPolicy) metav1.TableRow { return row(p, now) })
}

func row(p *portager.RegistryPolicy, now time.Time) metav1.TableRow {
	return metav1.TableRow{
		Object: runtime.RawExtension{Object: p},
		Cells: []any{
			p.Name,
			namespaces(&p.Spec.NamespaceSelector),
			entries(p.Spec.Sources),
			entries(p.Spec.Destinations),
			duration.HumanDuration(now.Sub(p.CreationTimestamp.Time)),
		},
	}
}

func namespaces(sel *metav1.LabelSelector) string {
	if len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
		return "<all>"
	}
	return metav1.FormatLabelSelector(sel)
}

func entries(es []portager.RegistryEntry) string {
	if len(es) == 0 {
		return "<any public>"
	}
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Registry
		if e.RepositoryPrefix != "" {
			parts[i] += "/" + e.RepositoryPrefix
		}
	}
	s := strings.Join(parts, ",")
	if len(s) > maxCell {
		s = s[:maxCell-3] + "..."
	}
	return s
}
