package imagesynctest

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/portager/portager/pkg/apis/portager"
	"github.com/portager/portager/pkg/apis/portager/validation"
)

// TestFixtureIsValid: the object every test starts from passes the API
// server's validation, so a test's refusal comes from its own mutation.
func TestFixtureIsValid(t *testing.T) {
	is := NewInternal("default", "base-images")
	if errs := validation.ValidateImageSync(is, validation.DefaultOptions()); len(errs) > 0 {
		t.Fatalf("fixture refused: %v", errs.ToAggregate())
	}
	changed := NewInternal("default", "base-images", func(is *portager.ImageSync) { is.Spec.Schedule = "" })
	if errs := validation.ValidateImageSync(changed, validation.DefaultOptions()); len(errs) == 0 || errs[0].Field != field.NewPath("spec", "schedule").String() {
		t.Errorf("a mutation was not applied: %v", errs)
	}
}
