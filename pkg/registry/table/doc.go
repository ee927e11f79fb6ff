// Package table turns a resource, or a list of them, into the
// metav1.Table that `kubectl get` prints, given the resource's columns and
// how one object fills a row. Every registry package's TableConvertor uses
// it, so the list handling (rows, resourceVersion, continue token,
// remaining count, headers on request) is written once.
package table
