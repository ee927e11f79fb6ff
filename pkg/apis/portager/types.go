package portager

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AuthMethod is how the controller authenticates to the destination registry.
// +enum
type AuthMethod string

const (
	// AuthMethodSecret uses a kubernetes.io/dockerconfigjson Secret.
	AuthMethodSecret AuthMethod = "secret"
	// AuthMethodECR uses IRSA for AWS ECR.
	AuthMethodECR AuthMethod = "ecr"
	// AuthMethodGAR uses Application Default Credentials / GKE Workload Identity.
	AuthMethodGAR AuthMethod = "gar"
	// AuthMethodACR uses Azure Workload Identity for Azure Container Registry.
	AuthMethodACR AuthMethod = "acr"
	// AuthMethodAnonymous explicitly disables authentication.
	AuthMethodAnonymous AuthMethod = "anonymous"
)

// OverwritePolicy says whether a destination tag that holds another digest
// is moved to the source's.
// +enum
type OverwritePolicy string

const (
	// OverwriteAlways moves a destination tag to the source's digest.
	OverwriteAlways OverwritePolicy = "Always"
	// OverwriteNever leaves a destination tag that holds another digest
	// alone and fails the tag with reason DestinationDiverged.
	OverwriteNever OverwritePolicy = "Never"
)

// Severity is a vulnerability severity level.
// +enum
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ImageSync declares that a set of images is copied from a source registry to a
// destination registry on a cron schedule, copying only what changed.
type ImageSync struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec defines the desired state of ImageSync
	Spec ImageSyncSpec `json:"spec"`
	// status defines the observed state of ImageSync
	// +optional
	Status ImageSyncStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ImageSyncList is a list of ImageSync objects.
type ImageSyncList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items is the list of ImageSyncs.
	Items []ImageSync `json:"items"`
}

// ImageSyncSpec defines the desired state of ImageSync.
type ImageSyncSpec struct {
	// schedule is a cron expression or shorthand (e.g., "0 */6 * * *", "@every 1h") controlling how often images are synced.
	Schedule string `json:"schedule"`

	// suspend, when true, stops scheduled and on-demand syncs until it is set back to false.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// source defines the registry to pull images from.
	Source SourceRegistry `json:"source"`

	// destination defines the registry to push images to.
	Destination DestinationRegistry `json:"destination"`

	// createDestinationRepos, when true, causes the controller to create destination repositories before pushing (currently ECR only).
	// +optional
	CreateDestinationRepos bool `json:"createDestinationRepos,omitempty"`

	// timeout bounds one run: tags not finished when it passes fail as
	// Transient and are retried after the controller's backoff. Unset, a
	// run is bounded only by each registry request's deadline.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// immutableTags is an RE2 regular expression that must match a whole tag name (e.g. "v?[0-9]+\.[0-9]+\.[0-9]+").
	// A selected tag that matches and is already in the destination repository's tag list counts as up to date
	// without any manifest request: a run pays one tag list per repository instead of two requests per tag.
	// Setting it is your promise that such tags never move at the source: a tag that moves anyway is not copied again,
	// and its source digest is not checked. A tag not yet at the destination is copied, and gated, as any other;
	// a pinned tag (TAG@sha256:DIGEST) is checked against its pin on every run.
	// +optional
	ImmutableTags string `json:"immutableTags,omitempty"`

	// platforms, such as ["linux/amd64", "linux/arm64"] (OS/ARCHITECTURE[/VARIANT]; without a variant, any variant
	// matches), copies of a multi-platform source only those platforms: the destination tag gets an index of the
	// matching entries, with their signatures and attestations, and status records its digest as destinationDigest
	// next to the source's sourceDigest. The filtered index is derived deterministically, so an unchanged source is
	// up to date on every later run. Signatures of the source index itself do not cover the filtered index, whose
	// digest differs; those of each platform image do. A single-platform source of another platform, or an index with
	// none of them, fails with reason PlatformMismatch. An index whose platforms all match is copied as it is.
	// spec.images[].digests are copied as they are. Unset, every platform is copied.
	// +optional
	// +listType=atomic
	Platforms []string `json:"platforms,omitempty"`

	// images is the list of images to sync from source to destination.
	// +listType=atomic
	Images []ImageSpec `json:"images"`

	// validation configures optional pre-sync validation gates (cosign, vulnerability). When nil, no validation is performed.
	// +optional
	Validation *ValidationSpec `json:"validation,omitempty"`
}

// SecretReference names a kubernetes.io/dockerconfigjson Secret.
type SecretReference struct {
	// name of the Secret
	Name string `json:"name"`
	// namespace of the Secret. Defaults to the ImageSync's namespace if omitted.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SourceRegistry is the registry images are pulled from.
type SourceRegistry struct {
	// registry is the source registry host (e.g., "cgr.dev/my-org", "docker.io/library"). No scheme — just the host and optional path prefix.
	Registry string `json:"registry"`

	// authSecretRef references a kubernetes.io/dockerconfigjson Secret for pull authentication. Omit for public registries
	// +optional
	AuthSecretRef *SecretReference `json:"authSecretRef,omitempty"`

	// auth configures how the controller authenticates to pull images. Without it, or without its method, the
	// controller pulls with authSecretRef if it is set and anonymously otherwise.
	// +optional
	Auth *SourceAuth `json:"auth,omitempty"`
}

// SourceAuth configures how the controller authenticates to pull images.
type SourceAuth struct {
	// method specifies the authentication strategy. "secret" pulls with the Secret authSecretRef names (required then);
	// "anonymous" pulls without credentials; "ecr", "gar" and "acr" pull with the controller's own cloud identity, as
	// the destination's methods of the same names push, which the spec's writer must be allowed to use (verb "use" on
	// cloudidentities.portager.portager.io, named for the method, in the ImageSync's namespace). authSecretRef must
	// not be set with a method other than "secret". Unset, the controller pulls with authSecretRef if it is set and
	// anonymously otherwise.
	// +optional
	Method AuthMethod `json:"method,omitempty"`
}

// DestinationRegistry is the registry images are pushed to.
type DestinationRegistry struct {
	// registry is the destination registry host (e.g., "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com").
	Registry string `json:"registry"`

	// auth configures how the controller authenticates to push images.
	Auth DestinationAuth `json:"auth"`

	// repositoryPrefix is prepended to image names in the destination. For example, with prefix "chainguard", image "go" becomes "chainguard/go".
	// +optional
	RepositoryPrefix string `json:"repositoryPrefix,omitempty"`

	// overwrite says what happens to a destination tag that holds another digest than the source's.
	// "Always" (the default) moves it to the source's digest. "Never" leaves it alone and fails the tag with reason
	// DestinationDiverged. Either way a tag already at the source's digest is not written again, which registries
	// with immutable tags (such as ECR's IMMUTABLE repositories) need.
	// +optional
	// +default="Always"
	Overwrite OverwritePolicy `json:"overwrite,omitempty"`

	// ecr configures the ECR repositories that createDestinationRepos creates (method "ecr"). It applies when a
	// repository is created and never changes one that exists.
	// +optional
	ECR *ECRRepositorySettings `json:"ecr,omitempty"`
}

// ECRTagMutability is the tag mutability of an ECR repository.
// +enum
type ECRTagMutability string

const (
	// ECRTagMutable lets a tag move to another image (ECR's default).
	ECRTagMutable ECRTagMutability = "MUTABLE"
	// ECRTagImmutable refuses to move a tag once pushed.
	ECRTagImmutable ECRTagMutability = "IMMUTABLE"
)

// ECRRepositorySettings are the settings of the ECR repositories createDestinationRepos creates.
type ECRRepositorySettings struct {
	// imageTagMutability is "MUTABLE" (ECR's default) or "IMMUTABLE". With IMMUTABLE, a tag already at the source's
	// digest is not written again, and a tag that moved at the source fails because ECR refuses to move it (with
	// overwrite "Never" it fails as DestinationDiverged, without a write).
	// +optional
	ImageTagMutability ECRTagMutability `json:"imageTagMutability,omitempty"`

	// scanOnPush turns on ECR's basic scan of every image pushed.
	// +optional
	ScanOnPush bool `json:"scanOnPush,omitempty"`

	// encryption, when set, encrypts the repository with AWS KMS instead of ECR's default AES-256. The controller's
	// AWS identity must be allowed to use the key.
	// +optional
	Encryption *ECREncryption `json:"encryption,omitempty"`

	// tags are AWS resource tags of each repository created (at most 50; keys up to 128 characters, values up to
	// 256; keys must not start with "aws:").
	// +optional
	Tags map[string]string `json:"tags,omitempty"`
}

// ECREncryption is the KMS encryption of an ECR repository.
type ECREncryption struct {
	// kmsKey is the ARN, ID or alias of the KMS key. Empty, ECR uses its AWS managed key (aws/ecr).
	// +optional
	KMSKey string `json:"kmsKey,omitempty"`
}

// DestinationAuth configures how the controller authenticates to push images.
type DestinationAuth struct {
	// method specifies the authentication strategy. "secret" uses a dockerconfigjson Secret; "ecr" uses IRSA for AWS ECR; "gar" uses Application Default Credentials / GKE Workload Identity for Google Artifact Registry; "acr" uses Azure Workload Identity for Azure Container Registry; "anonymous" explicitly disables authentication for public/local registries.
	Method AuthMethod `json:"method"`

	// secretRef references a kubernetes.io/dockerconfigjson Secret. Required when method is "secret".
	// +optional
	SecretRef *SecretReference `json:"secretRef,omitempty"`
}

// ImageSpec selects the tags of one source image.
type ImageSpec struct {
	// name is the image name relative to the source registry (e.g., "go", "node", "python").
	Name string `json:"name"`

	// tags is the list of explicit image tags to sync (e.g., ["latest", "1.22"]). At least one of tags, semver, include or digests must be specified.
	// An entry TAG@sha256:DIGEST pins the tag: it is copied only while the source tag resolves to that digest; otherwise
	// the tag fails with reason DigestMismatch and nothing is written for it.
	// +optional
	// +listType=atomic
	Tags []string `json:"tags,omitempty"`

	// semver is a semver constraint string for auto-discovering tags from the source registry. Supports wildcards (1.x, 1.3.x), ranges (>=1.22.0 <1.23.0), tilde (~1.3.0), and caret (^1.3.0) syntax. Non-semver tags in the registry are silently skipped. Resolved tags are sorted by version descending (newest first).
	// With include or exclude, a tag must satisfy all of them.
	// +optional
	Semver string `json:"semver,omitempty"`

	// include selects the source tags that match any of these RE2 regular expressions (e.g. "1\.2[0-9]\..*").
	// A pattern must match the whole tag. With semver, a tag must satisfy both; include alone is a selection.
	// +optional
	// +listType=atomic
	Include []string `json:"include,omitempty"`

	// exclude drops the source tags that match any of these RE2 regular expressions (e.g. ".*-rc[0-9]*") from what
	// semver and include select. A pattern must match the whole tag. Explicit tags are not filtered.
	// +optional
	// +listType=atomic
	Exclude []string `json:"exclude,omitempty"`

	// maxTags limits how many tags semver and include select. Semver tags come first, newest first; other tags follow
	// in reverse lexical order. Explicit tags and digests are not counted. 0 means unlimited.
	// +optional
	// +k8s:validation:minimum=0
	MaxTags int32 `json:"maxTags,omitempty"`

	// digests are manifests copied by digest (e.g. "sha256:..."); no tag is written for them at the destination.
	// +optional
	// +listType=atomic
	Digests []string `json:"digests,omitempty"`

	// platforms, when set, replaces spec.platforms for this image's tags (see spec.platforms).
	// +optional
	// +listType=atomic
	Platforms []string `json:"platforms,omitempty"`
}

// ValidationSpec configures optional pre-sync validation gates.
type ValidationSpec struct {
	// cosign configures cosign signature verification.
	// +optional
	Cosign *CosignValidation `json:"cosign,omitempty"`

	// vulnerabilityGate configures vulnerability severity gating.
	// +optional
	VulnerabilityGate *VulnerabilityGate `json:"vulnerabilityGate,omitempty"`

	// sbomGate requires a Software Bill of Materials (SBOM) to be attached as an OCI referrer before allowing sync. Supports SPDX and CycloneDX formats.
	// +optional
	SBOMGate *SBOMGate `json:"sbomGate,omitempty"`
}

// CosignValidation configures cosign signature verification.
type CosignValidation struct {
	// enabled activates cosign signature verification.
	Enabled bool `json:"enabled"`

	// keylessIssuer is the OIDC issuer for keyless (Fulcio) verification. Required when publicKey is empty and enabled is true.
	// +optional
	KeylessIssuer string `json:"keylessIssuer,omitempty"`

	// keylessIdentity is the exact certificate identity (subject, e.g. a workflow URL or e-mail) a keyless signature must carry.
	// Without keylessIdentity or keylessIdentityRegexp, any signer from keylessIssuer is accepted.
	// +optional
	KeylessIdentity string `json:"keylessIdentity,omitempty"`

	// keylessIdentityRegexp is a regular expression (RE2) the keyless certificate identity must match.
	// +optional
	KeylessIdentityRegexp string `json:"keylessIdentityRegexp,omitempty"`

	// publicKey is a PEM-encoded cosign public key for key-based verification. When empty, keyless verification is used (requires keylessIssuer).
	// +optional
	PublicKey string `json:"publicKey,omitempty"`
}

// VulnerabilityGate configures vulnerability severity gating.
type VulnerabilityGate struct {
	// enabled activates vulnerability gate checking.
	Enabled bool `json:"enabled"`

	// maxSeverity is the highest severity level allowed. Images with findings at or above this level are blocked from syncing.
	MaxSeverity Severity `json:"maxSeverity"`

	// requireCveReport, when true (default), blocks sync if no SARIF vulnerability report is found attached to the source image. When false, images without reports are allowed through.
	// +optional
	// +default=true
	RequireCveReport *bool `json:"requireCveReport,omitempty"`
}

// SBOMGate requires an SBOM referrer before an image may sync.
type SBOMGate struct {
	// enabled activates SBOM gate checking.
	Enabled bool `json:"enabled"`
}

// ImageSyncStatus defines the observed state of ImageSync.
type ImageSyncStatus struct {
	// conditions represent the current state of the ImageSync resource.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the most recent generation observed by the controller. When this differs from metadata.generation, the controller syncs immediately regardless of schedule.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// lastSyncTime is the timestamp of the most recent sync attempt.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// nextSyncTime is the calculated time of the next scheduled sync.
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`

	// totalImages is the total number of image+tag combinations to sync.
	// +optional
	TotalImages int32 `json:"totalImages,omitempty"`

	// syncedImages is the number of image+tag combinations successfully synced or already up-to-date.
	// +optional
	SyncedImages int32 `json:"syncedImages,omitempty"`

	// failedImages is the number of image+tag combinations that failed to sync.
	// +optional
	FailedImages int32 `json:"failedImages,omitempty"`

	// images contains per-image sync status details.
	// +optional
	// +listType=atomic
	Images []ImageStatus `json:"images,omitempty"`

	// pendingSyncRequest is the on-demand sync request recorded by the sync subresource that the controller has not handled yet.
	// Only the server writes it.
	// +optional
	PendingSyncRequest *SyncRequestRecord `json:"pendingSyncRequest,omitempty"`

	// lastHandledSyncRequest is the most recent on-demand sync request whose run has finished.
	// +optional
	LastHandledSyncRequest *SyncRequestRecord `json:"lastHandledSyncRequest,omitempty"`

	// secretAccessIdentity is the user who last changed spec. The server checked, as this user, "get" on every Secret
	// the spec references and "use" on the cloud identity it selects; the controller re-checks the same before each use,
	// so the ImageSync never lends the controller's access to anyone who lacks it. Only the server writes it.
	// Reads show the username only: uid, groups and extra are kept in storage, and the controller reads them from the
	// imagesyncs/writer subresource.
	// +optional
	SecretAccessIdentity *UserIdentity `json:"secretAccessIdentity,omitempty"`
}

// ImageStatus is the sync status of one image.
type ImageStatus struct {
	// name is the image name (e.g., "alpine", "go").
	Name string `json:"name"`

	// tags contains per-tag sync results.
	// +optional
	// +listType=atomic
	Tags []TagStatus `json:"tags,omitempty"`
}

// TagStatus is the sync result of one tag.
type TagStatus struct {
	// tag is the image tag that was synced (e.g., "latest", "1.22"), or for an entry of spec.images[].digests the digest.
	Tag string `json:"tag"`

	// reason is the CamelCase code of the tag's last outcome: Copied, UpToDate, ImmutableTagPresent (an immutable
	// tag found in the destination's tag list, not compared), or why it failed (e.g. DigestMismatch,
	// DestinationDiverged, GateFailed, TagNotFound).
	// +optional
	Reason string `json:"reason,omitempty"`

	// synced indicates whether this tag was successfully copied.
	Synced bool `json:"synced"`

	// sourceDigest is the manifest digest of the source image (e.g., "sha256:abc123..."). Used for digest comparison to skip already-synced images.
	// +optional
	SourceDigest string `json:"sourceDigest,omitempty"`

	// destinationDigest is the digest written at the destination when it differs from sourceDigest: an index
	// filtered to spec.platforms.
	// +optional
	DestinationDigest string `json:"destinationDigest,omitempty"`

	// platforms are the platforms the destination holds for this tag when spec.platforms or
	// spec.images[].platforms filter it.
	// +optional
	// +listType=atomic
	Platforms []string `json:"platforms,omitempty"`

	// lastSyncTime is when this specific tag was last synced.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// error contains the failure reason if synced is false.
	// +optional
	Error string `json:"error,omitempty"`

	// verified indicates whether pre-sync validation passed for this tag. Only meaningful when validation is configured.
	// +optional
	Verified bool `json:"verified,omitempty"`

	// validationError contains the validation failure reason, if any.
	// +optional
	ValidationError string `json:"validationError,omitempty"`
}

// SyncRequestRecord is an on-demand sync request as the server recorded it.
type SyncRequestRecord struct {
	// id is the server-generated request id.
	ID string `json:"id"`

	// requestedAt is when the server accepted the request.
	RequestedAt metav1.Time `json:"requestedAt"`

	// requester is the name of the authenticated user who asked for the sync, taken from the request context.
	// +optional
	Requester string `json:"requester,omitempty"`
}

// UserIdentity is the identity of an authenticated user, as a SubjectAccessReview needs it.
type UserIdentity struct {
	// username is the user's name.
	Username string `json:"username"`

	// uid is the user's unique id, if the authenticator provides one.
	// +optional
	UID string `json:"uid,omitempty"`

	// groups are the user's groups.
	// +optional
	// +listType=atomic
	Groups []string `json:"groups,omitempty"`

	// extra holds the authenticator's further attributes of the user, such as the pod a ServiceAccount token is bound to.
	// +optional
	Extra map[string]ExtraValue `json:"extra,omitempty"`
}

// ExtraValue is the values of one extra attribute of a user.
// +listType=atomic
type ExtraValue []string

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ImageSyncWriter is the full identity of the user who last changed an ImageSync's spec, read from the
// imagesyncs/writer subresource. The controller acts with this user's access to Secrets and cloud identities,
// and checks that it acts for the spec this user wrote by comparing metadata.generation.
type ImageSyncWriter struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the ImageSync's name, namespace, uid, resourceVersion and generation.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// identity is the user who wrote the spec; absent when the spec lends no access (no Secret reference, no cloud identity).
	// +optional
	Identity *UserIdentity `json:"identity,omitempty"`
}

// SyncRequestResult says what the server did with an ImageSyncRequest.
// +enum
type SyncRequestResult string

const (
	// SyncRequestAccepted means a new request was recorded.
	SyncRequestAccepted SyncRequestResult = "Accepted"
	// SyncRequestCoalesced means a request was already pending and this one joined it.
	SyncRequestCoalesced SyncRequestResult = "Coalesced"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ImageSyncRequest asks for an on-demand sync of an ImageSync. It is posted to
// the imagesyncs/sync subresource; the server records it on the ImageSync and the
// controller runs the sync.
type ImageSyncRequest struct {
	metav1.TypeMeta `json:",inline"`
	// metadata.name, when set, must equal the ImageSync's name.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the client asks for.
	// +optional
	Spec ImageSyncRequestSpec `json:"spec,omitempty"`

	// status is the server's receipt.
	// +optional
	Status ImageSyncRequestStatus `json:"status,omitempty"`
}

// ImageSyncRequestSpec is what a client asks of an on-demand sync.
type ImageSyncRequestSpec struct {
	// preconditions must hold for the ImageSync, or the request is refused with 409 Conflict.
	// +optional
	Preconditions *metav1.Preconditions `json:"preconditions,omitempty"`
}

// ImageSyncRequestStatus is the server's receipt for an ImageSyncRequest.
type ImageSyncRequestStatus struct {
	// result is Accepted when a new request was recorded, or Coalesced when it joined a pending one.
	// +optional
	Result SyncRequestResult `json:"result,omitempty"`

	// requestID identifies the recorded request: the new one, or the pending one it was coalesced into.
	// +optional
	RequestID string `json:"requestID,omitempty"`

	// requestedAt is when the recorded request was accepted.
	// +optional
	RequestedAt *metav1.Time `json:"requestedAt,omitempty"`

	// requester is the user recorded as having asked for the sync.
	// +optional
	Requester string `json:"requester,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RegistryPolicy says which registries the ImageSyncs of the namespaces it selects may pull from and push to, and
// which destination repositories they may write. Without a policy that selects a namespace, its ImageSyncs may use
// every public registry and no internal one (loopback, link-local, private and shared address space, cluster DNS
// names, metadata hosts). Where policies select a namespace, only the union of their entries is allowed on each side
// that they list entries for.
type RegistryPolicy struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says what the selected namespaces may use.
	Spec RegistryPolicySpec `json:"spec"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RegistryPolicyList is a list of RegistryPolicy objects.
type RegistryPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items is the list of RegistryPolicies.
	Items []RegistryPolicy `json:"items"`
}

// RegistryPolicySpec says which registries the ImageSyncs of the selected namespaces may use.
type RegistryPolicySpec struct {
	// namespaceSelector selects the namespaces whose ImageSyncs this policy governs, by their labels. An empty selector
	// ({}) selects every namespace; kubernetes.io/metadata.name selects one by name.
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`

	// sources are the registries the selected ImageSyncs may pull from (spec.source.registry). Without entries here,
	// this policy does not restrict sources.
	// +optional
	// +listType=atomic
	Sources []RegistryEntry `json:"sources,omitempty"`

	// destinations are the registries the selected ImageSyncs may push to (spec.destination.registry), each optionally
	// bounded to repositories under a prefix. Without entries here, this policy does not restrict destinations.
	// +optional
	// +listType=atomic
	Destinations []RegistryEntry `json:"destinations,omitempty"`
}

// RegistryEntry allows one registry, a family of registries, or a network.
type RegistryEntry struct {
	// registry is one of:
	// a host with an optional port ("ghcr.io", "harbor.example.com:8443", "127.0.0.1:5000"), which allows exactly that
	// host and port (no port means the registry is written without one);
	// a wildcard "*.example.com" (optionally with ":port"), which allows every host under example.com, but no internal one;
	// a CIDR ("10.20.0.0/16"), which allows every registry whose address is in it, on any port.
	// An internal host is allowed only by an entry that names that exact host and port, or by a CIDR that covers its address.
	Registry string `json:"registry"`

	// repositoryPrefix, on a destination entry, bounds the repositories an ImageSync may write there: every destination
	// repository (the registry's path, spec.destination.repositoryPrefix and the image name) must start with it.
	// "{namespace}" stands for the ImageSync's namespace, e.g. "tenants/{namespace}/". End it with "/" so that "team-a"
	// does not also allow "team-ab".
	// +optional
	RepositoryPrefix string `json:"repositoryPrefix,omitempty"`
}
