// Package controller is the command line of portager-controller: its flags,
// leader election, the metrics and health endpoints, and how they start the
// ImageSync controller.
package controller
