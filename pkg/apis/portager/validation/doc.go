// Package validation holds the pure validation and warning functions of the
// ImageSync API. The registry strategies call them; every error carries the
// field path of the value it is about.
package validation
