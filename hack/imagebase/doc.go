// Command imagebase builds the base image Portager's images are built on
// when no base image can be pulled (a machine without access to a
// registry such as CI here): a single layer holding the CA certificates of
// the build machine's Debian ca-certificates package and an /etc/passwd
// and /etc/group with the nonroot user 65532, with fixed timestamps, so the
// same inputs give the same digest. It pushes the image to a registry,
// usually one on loopback that `make images` starts. Releases build on
// distroless/static instead (see .ko.yaml).
package main
