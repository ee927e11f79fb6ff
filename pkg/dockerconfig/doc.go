// Package dockerconfig reads the Docker client configuration of the
// machine `portager once` runs on: config.json where docker keeps it, its
// auths entries, and the credential helpers it names (credHelpers and
// credsStore), which docker login fills on most workstations and CI
// runners.
//
// A credential helper is a program that this package runs. Only the
// one-shot command uses it: the controller reads tenants' dockerconfigjson
// Secrets with syncer.KeychainFromDockerConfigJSON, which never runs
// anything a Secret names.
package dockerconfig
