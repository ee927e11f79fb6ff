// Package quota makes ResourceQuota count ImageSyncs. An aggregated API
// server enforces quota on its own resources: the kube-apiserver never sees
// their writes. k8s.io/apiserver's ResourceQuota admission plugin does the
// enforcing; this package gives it the quota configuration that says what an
// ImageSync costs (one count/imagesyncs.portager.portager.io) and the
// initializer that hands the configuration over.
package quota
