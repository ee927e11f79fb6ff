// Package once is the one-shot command, `portager once` and `kubectl
// imagesync once`: it validates an ImageSync manifest as the API server does
// and runs one sync of it from this machine with the controller's engine,
// credentials from a Docker config file, and the same verification gates.
// It links no Kubernetes client, so the standalone portager binary that
// mounts it starts quickly.
package once
