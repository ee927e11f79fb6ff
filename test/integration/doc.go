// Package integration tests Portager's API server and controller in the
// test process, on a real etcd (testserver.RunEtcd) and real registries,
// without a kube-apiserver: storage, validation, access checks, the sync
// subresource, the controller's runs, gates and credentials. `make
// test-integration` runs it; test/e2e adds the cluster around it.
package integration
