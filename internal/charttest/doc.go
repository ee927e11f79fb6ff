// Package charttest reads what `helm template` renders of charts/portager
// into Kubernetes objects, for the chart's own tests and the end-to-end
// tests that start the binaries with the chart's flags.
package charttest
