package lifecycle

// StoreCaches are the directories of an oci.Store (relative to it) where
// the exporter keeps disposable records: layer fingerprints and tree stat
// snapshots. They only save work; oci.Store.Prune may remove any of them
// (oci.PruneOptions.Caches).
func StoreCaches() []string {
	return []string{"lifecycle/fingerprints", "lifecycle/snapshots"}
}
