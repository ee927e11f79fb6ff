// Package syncplan turns an ImageSync spec into a pkg/syncer request. The
// controller and the one-shot mode share it, so both run exactly the same
// pipeline for the same manifest.
package syncplan
