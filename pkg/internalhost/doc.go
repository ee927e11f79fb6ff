// Package internalhost tells hosts inside a cluster, a cloud network or the
// machine itself from hosts on the internet. The API server and the
// controller use it to decide which registries need a RegistryPolicy, and
// the copy engine to decide which addresses a connection may reach.
//
// Address classification comes from code.dny.dev/ssrf, which follows the
// IANA special-purpose address registries; names are classified by suffix
// and by whether their top-level domain is a public one.
package internalhost
