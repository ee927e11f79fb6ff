// +k8s:openapi-gen=true
// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/portager/portager/pkg/apis/portager
// +k8s:defaulter-gen=TypeMeta
// +groupName=portager.portager.io
// +k8s:openapi-model-package=com.github.portager.portager.pkg.apis.portager.v1alpha1

// Package v1alpha1 is the v1alpha1 version of the portager.portager.io API:
// the ImageSync resource and the ImageSyncRequest body of its sync subresource.
package v1alpha1
