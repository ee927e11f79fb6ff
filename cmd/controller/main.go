// Command portager-controller will run the scheduled copy/verify pipeline for
// ImageSyncs. Until the controller lands it only reports that it is not
// implemented, so nothing deploys it by mistake.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "portager-controller: not implemented yet; ImageSyncs are stored and validated but not synced")
	os.Exit(1)
}
