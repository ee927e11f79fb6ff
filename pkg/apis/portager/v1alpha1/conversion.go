package v1alpha1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
)

// Field selectors the server supports on ImageSync, besides metadata.name and
// metadata.namespace. pkg/registry/imagesync computes their values.
const (
	FieldSourceRegistry      = "spec.source.registry"
	FieldDestinationRegistry = "spec.destination.registry"
	FieldSuspend             = "spec.suspend"
)

func addFieldLabelConversionFuncs(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind("ImageSync"),
		func(label, value string) (string, string, error) {
			switch label {
			case "metadata.name", "metadata.namespace",
				FieldSourceRegistry, FieldDestinationRegistry, FieldSuspend:
				return label, value, nil
			default:
				return "", "", fmt.Errorf("field label not supported for ImageSync: %s", label)
			}
		})
}
