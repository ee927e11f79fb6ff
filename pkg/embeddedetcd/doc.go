// Package embeddedetcd runs a single-member etcd inside the API server process,
// on loopback, with its data in a directory. It lets the server start on a
// machine with nothing installed; production points --etcd-servers at a real
// cluster instead.
package embeddedetcd
