// Package registryhost recognises registries by host name: the cloud
// registries whose push credentials come from the controller's own
// workload identity, Amazon ECR (spec.destination.auth.method "ecr") and
// Google Artifact Registry (method "gar"), and Docker Hub under its
// aliases, which credential keys are matched by (Normalize).
//
// It exists on its own, without any cloud SDK, so that API validation can
// warn about a mismatched host and the credential providers can refuse to
// send a cloud token to any other host, from one definition.
package registryhost
