// Command portager is Portager without a cluster, for CI pipelines and
// workstations: `portager once -f mirror.yaml` runs one sync of an ImageSync
// manifest with the controller's engine, validation and verification gates.
//
// It is `kubectl imagesync once` without the plugin's Kubernetes client:
// the generated clientset links client-go's scheme of every built-in API
// group, whose initialisation this binary skips on each of the many short
// runs a pipeline makes (TestClusterFree keeps it that way).
package main
