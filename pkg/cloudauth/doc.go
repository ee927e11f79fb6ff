// Package cloudauth obtains registry credentials, to pull and to push, from
// the controller's own cloud identity, for auth methods "ecr" and "gar" of
// spec.source.auth and spec.destination.auth, and creates ECR repositories
// for createDestinationRepos.
//
//   - ECR: the AWS SDK's default credential chain (IRSA web identity on EKS,
//     EKS Pod Identity, environment, instance role) signs
//     GetAuthorizationToken; the token is cached until shortly before it
//     expires.
//   - GAR: Application Default Credentials (GKE Workload Identity through
//     the metadata server, or GOOGLE_APPLICATION_CREDENTIALS) supply an
//     OAuth2 access token.
//
// A cloud token is only ever handed out for a host that is that cloud's
// registry (package registryhost): an ImageSync naming another host with
// method "ecr" must not receive the controller's ECR token. Errors carry the
// cloud API's error code, never its message or a credential, because they
// end up in tenant-visible status and Events.
package cloudauth
