// Package cloudfake holds stand-ins for the cloud APIs the controller's
// workload identity talks to and tests cannot reach: AWS STS and ECR, the
// GKE metadata server, and Microsoft Entra ID with the token exchange of
// Azure Container Registry. The real AWS SDK, Google libraries and
// azidentity talk to them, pointed there through the environment variables
// those SDKs honour, so everything but the cloud itself is the production
// path.
package cloudfake
