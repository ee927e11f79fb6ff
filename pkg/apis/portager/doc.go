// +k8s:deepcopy-gen=package
// +groupName=portager.portager.io

// Package portager is the internal (hub) version of the portager.portager.io API
// group. The API server validates and stores objects through it; clients use the
// versioned packages.
package portager
