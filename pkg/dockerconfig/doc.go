// Package dockerconfig reads the Docker client configuration of the
// machine `portager once` runs on: config.json where docker keeps it, its
// auths entries, and the credential helpers it names (credHelpers and
// credsStore), which docker login fills on most workstations and CI
// runners.
//
// It also reads the payload of tenants' kubernetes.io/dockerconfigjson
// Secrets (FromSecret), for the controller.
//
// A credential helper is a program that this package runs. Only the
// one-shot command's Load and Parse run them; FromSecret never runs
// anything a Secret names.
package dockerconfig
