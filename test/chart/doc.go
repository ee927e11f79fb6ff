// Package chart tests the Helm chart in charts/portager with the real helm
// binary: lint, golden renders, the restricted Pod Security standard for
// every pod (checked by Kubernetes' own evaluator), etcd's client
// certificates and the certificates the chart generates. Run it through
// `make test-chart`, which builds helm into _output/bin.
package chart
