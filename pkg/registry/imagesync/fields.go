package imagesync

import (
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// SelectableFields returns the fields a field selector can match on: the
// object metadata plus the source and destination registries and suspend.
func SelectableFields(obj *portager.ImageSync) fields.Set {
	return generic.AddObjectMetaFieldsSet(fields.Set{
		v1alpha1.FieldSourceRegistry:      obj.Spec.Source.Registry,
		v1alpha1.FieldDestinationRegistry: obj.Spec.Destination.Registry,
		v1alpha1.FieldSuspend:             strconv.FormatBool(obj.Spec.Suspend),
	}, &obj.ObjectMeta, true)
}

// GetAttrs returns the labels and selectable fields of an ImageSync.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	is, ok := obj.(*portager.ImageSync)
	if !ok {
		return nil, nil, fmt.Errorf("not an ImageSync: %T", obj)
	}
	return labels.Set(is.Labels), SelectableFields(is), nil
}

// Match is the filter the store applies to lists and watches.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
