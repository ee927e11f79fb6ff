// Package cloudauth obtains registry credentials, to pull and to push, from
// the controller's own cloud identity, for auth methods "ecr", "gar" and
// "acr" of spec.source.auth and spec.destination.auth, and creates ECR
// repositories for createDestinationRepos.
//
//   - ECR: the AWS SDK's default credential chain (IRSA web identity on EKS,
//     EKS Pod Identity, environment, instance role) signs
//     GetAuthorizationToken; the token is cached until shortly before it
//     expires.
//   - GAR: Application Default Credentials (GKE Workload Identity through
//     the metadata server, or GOOGLE_APPLICATION_CREDENTIALS) supply an
//     OAuth2 access token.
//   - ACR: Azure Workload Identity (the federated service account token the
//     webhook projects) gets an Entra ID access token for ACR's audience, or
//     Azure Resource Manager's where ACR's is refused, which the registry's
//     /oauth2/exchange turns into a refresh token, cached until shortly
//     before the access token expires.
//
// A cloud token is only ever handed out for a host that is that cloud's
// registry (package registryhost): an ImageSync naming another host with
// method "ecr" must not receive the controller's ECR token, and ACR's token
// exchange follows no redirect. Errors carry the cloud API's error code,
// never its message or a credential, because they end up in tenant-visible
// status and Events.
package cloudauth
