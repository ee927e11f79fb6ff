// Package server is the command line of the Portager API server: its options,
// how they complete and validate, and how they become a running server.
package server
