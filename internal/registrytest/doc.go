// Package registrytest is the test registry every package's tests share:
// go-containerregistry's in-process registry on 127.0.0.1 behind a
// middleware that records every request (method, path, kind, status, body
// bytes, Authorization, User-Agent), injects faults (answers of the test's
// choosing, dropped connections), requires credentials when asked, and adds
// what the stock registry lacks: blobs kept per repository, so that
// cross-repository mounts are observable, and Link-paginated tag lists.
package registrytest
