package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"

	portagerfuzzer "github.com/portager/portager/pkg/apis/portager/fuzzer"
)

// TestRoundTripTypes checks that every type survives internal → v1alpha1 →
// internal through JSON, YAML and CBOR without losing a field.
func TestRoundTripTypes(t *testing.T) {
	roundtrip.RoundTripTestForAPIGroup(t, Install, portagerfuzzer.Funcs)
}
