// Package metricsserving serves a component's /metrics over TLS to callers
// the cluster authenticates and authorizes, as kube-rbac-proxy and the
// Kubernetes control plane do: a bearer token is checked with a TokenReview,
// and the caller needs "get" on the non-resource URL /metrics (a
// SubjectAccessReview). Metrics name every tenant's objects, so they are
// not for every pod that can reach the port. /healthz and /readyz stay
// open, as kubelet probes carry no credentials.
package metricsserving
