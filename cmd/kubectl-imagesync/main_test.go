package main

import (
	"testing"

	"github.com/portager/portager/internal/gcpace/gcpacetest"
)

var collectionsBeforeMain = gcpacetest.Collections()

// TestNoCollectionBeforeMain checks that internal/gcpace paces the collector
// before the plugin's dependencies, client-go among them, initialise: at the
// default pace their allocations start a collection that every kubectl
// imagesync command pays for.
func TestNoCollectionBeforeMain(t *testing.T) {
	gcpacetest.NoneBeforeMain(t, collectionsBeforeMain)
}
