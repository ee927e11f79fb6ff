package portager

// CloudIdentitiesResource is the resource RBAC grants to let a user select an
// auth method that lends the controller's own cloud identity: verb "use" in
// group portager.portager.io, with the method ("ecr", "gar", "acr") as the resource
// name, in the ImageSync's namespace. Nothing is stored under it; it exists
// only to be authorized.
const CloudIdentitiesResource = "cloudidentities"

// UseVerb is the verb a SubjectAccessReview asks for on cloudidentities.
const UseVerb = "use"

// LendsCloudIdentity reports whether an auth method authenticates with the
// controller's own cloud identity (its IAM role, its Google service account,
// its Azure managed identity) rather than with credentials the tenant
// supplies.
func LendsCloudIdentity(method AuthMethod) bool {
	switch method {
	case AuthMethodECR, AuthMethodGAR, AuthMethodACR:
		return true
	}
	return false
}

// SourceMethod is the auth method a source pulls with: method
// (spec.source.auth.method) when it is set; otherwise "secret" when the
// source names a Secret (hasSecret) and "anonymous" when it names none.
func SourceMethod(method AuthMethod, hasSecret bool) AuthMethod {
	switch {
	case method != "":
		return method
	case hasSecret:
		return AuthMethodSecret
	}
	return AuthMethodAnonymous
}
