package charttest

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

var (
	separator = regexp.MustCompile(`(?m)^---\s*$`)
	comment   = regexp.MustCompile(`(?m)^#.*$`)
)

// Objects splits a render into its objects.
func Objects(rendered string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, doc := range separator.Split(rendered, -1) {
		if strings.TrimSpace(comment.ReplaceAllString(doc, "")) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return nil, fmt.Errorf("a rendered document is not YAML: %w\n%s", err, doc)
		}
		objs = append(objs, u)
	}
	return objs, nil
}

// Find converts the object of kind and name into into (a typed object),
// and says whether there was one.
func Find(objs []*unstructured.Unstructured, kind, name string, into any) (bool, error) {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
				return true, fmt.Errorf("%s %s: %w", kind, name, err)
			}
			return true, nil
		}
	}
	return false, nil
}
