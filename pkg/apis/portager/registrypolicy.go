package portager

// NamespacePlaceholder stands for the ImageSync's namespace in a
// RegistryPolicy destination's repositoryPrefix.
const NamespacePlaceholder = "{namespace}"
