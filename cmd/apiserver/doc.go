// Command portager-apiserver serves the ImageSync API. See pkg/cmd/server.
package main
