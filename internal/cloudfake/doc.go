// Package cloudfake holds stand-ins for the cloud APIs the controller's
// workload identity talks to and tests cannot reach: AWS STS and ECR, and
// the GKE metadata server. The real AWS SDK and Google libraries talk to
// them, pointed there through the environment variables those SDKs honour,
// so everything but the cloud itself is the production path.
package cloudfake
