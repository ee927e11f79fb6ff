// Package localstack brings up the whole product on loopback, with real
// parts: etcd, a kube-apiserver and kube-controller-manager (for ClusterRole
// aggregation), portager-apiserver registered through an APIService,
// portager-controller, and Debian docker-registry processes. `make run` and
// the end-to-end tests both use it.
package localstack
