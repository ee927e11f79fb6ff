// Package e2e tests Portager as users run it: a real kube-apiserver with
// our API server aggregated through an APIService, the controller, Debian
// docker-registry processes and the real kubectl, all on loopback
// (internal/localstack). The tests carry the e2e build tag, so only `make
// test-e2e` runs them; it builds the binaries they start first.
package e2e
