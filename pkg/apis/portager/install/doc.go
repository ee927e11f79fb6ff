// Package install registers the portager.portager.io API group in a scheme.
package install
