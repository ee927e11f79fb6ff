package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_VulnerabilityGate makes a missing SARIF report block a sync unless
// the user opts out, as the API contract says.
func SetDefaults_VulnerabilityGate(obj *VulnerabilityGate) {
	if obj.RequireCveReport == nil {
		obj.RequireCveReport = ptr.To(true)
	}
}

// SetDefaults_DestinationRegistry makes a destination tag follow the
// source unless the user asks to keep it.
func SetDefaults_DestinationRegistry(obj *DestinationRegistry) {
	if obj.Overwrite == "" {
		obj.Overwrite = OverwriteAlways
	}
}
