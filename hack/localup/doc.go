// Command localup is `make run`: the whole product on loopback, on a fresh
// machine, from the Go module proxy and Debian packages only. It starts etcd,
// a real kube-apiserver and kube-controller-manager, portager-apiserver
// registered through an APIService, portager-controller and two Debian
// docker-registry processes; seeds small images into the source; applies the
// quick-start ImageSync pointed at them; and prints what to type next. Ctrl-C
// or `make down` (SIGTERM) stops everything.
package main
