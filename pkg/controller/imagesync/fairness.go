package imagesync

import "time"

// fairShareRetry is how soon an ImageSync whose namespace is at its share
// of workers is looked at again.
const fairShareRetry = 2 * time.Second

// namespaceShare counts the runs under way per namespace, so that one
// namespace holds at most Config.NamespaceWorkers workers however many of
// its ImageSyncs are due: the other workers stay free for other tenants.
type namespaceShare struct {
	limit int // 0: no limit
	// running is guarded by the controller's mu.
	running map[string]int
}

// tryStart reserves a worker for a run in namespace, unless the namespace
// already holds its share. Callers hold the controller's mu.
func (s *namespaceShare) tryStart(namespace string) bool {
	if s.limit > 0 && s.running[namespace] >= s.limit {
		return false
	}
	s.running[namespace]++
	return true
}

// done releases a worker reserved by tryStart. Callers hold the
// controller's mu.
func (s *namespaceShare) done(namespace string) {
	if s.running[namespace]--; s.running[namespace] <= 0 {
		delete(s.running, namespace)
	}
}
