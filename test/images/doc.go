// Package images tests `make images` (hack/images.sh, ko): it builds the
// images into a loopback registry twice, checks that the digests repeat,
// that each image runs as the nonroot user with its binary as entrypoint
// and carries CA certificates, and runs the binary it extracts from the
// layers. Run it through `make test-images`, which installs ko.
package images
