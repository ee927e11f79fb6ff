// Package apiserver assembles the Portager API server: the scheme and codecs of
// the portager.portager.io group, and a generic API server with the imagesyncs
// storage installed.
package apiserver
