package v1alpha1

// Condition types of ImageSyncStatus.Conditions.
const (
	// ConditionReady says whether the last run synced every tag the spec
	// asks for; its reason says why not (a failed tag, a spec that cannot
	// run, credentials refused, a suspended sync).
	ConditionReady = "Ready"
	// ConditionSyncing says whether a run is in progress; while it is, its
	// message reports the run's progress.
	ConditionSyncing = "Syncing"
)
