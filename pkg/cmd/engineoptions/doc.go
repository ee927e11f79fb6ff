// Package engineoptions holds the copy engine's flags, shared by the two
// binaries that run the engine, the controller and `portager once`, so that
// each flag has one name, one meaning and one default (the engine's own,
// syncer.DefaultOptions).
package engineoptions
