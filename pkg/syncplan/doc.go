// Package syncplan turns an ImageSync spec into a pkg/syncer request: the
// images and gates it asks for (Request), the credentials it calls for
// from an Access (ResolveCredentials), and the destination repositories to
// create first (CreateRepositories). The controller and the one-shot mode
// share it, so both run exactly the same pipeline for the same manifest.
package syncplan
