// Package registrypolicy decides which registries an ImageSync may use: the
// RegistryPolicies that select its namespace, and without them the default
// rule that public hosts are allowed and internal ones are not.
//
// The API server applies it when a spec is written, and the controller again
// before each run, so that a policy tightened later stops the next run. Both
// see the same registry values; neither connects anywhere. Only a host that
// is internal by name, on a side where a selecting policy lists a CIDR, is
// resolved, to see whether the CIDR covers it.
package registrypolicy
