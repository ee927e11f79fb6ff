package tagselect

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrInvalidPin marks an explicit tag entry whose digest is not a sha256
// digest.
var ErrInvalidPin = errors.New("invalid pinned digest")

// sha256Digest is the only digest form a pin or a digest entry may take:
// the algorithm every registry supports, in its canonical lower-case hex.
var sha256Digest = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// IsDigest reports whether s is a sha256 digest in canonical form,
// "sha256:" and 64 lower-case hex characters.
func IsDigest(s string) bool { return sha256Digest.MatchString(s) }

// ParseTag splits an explicit tags entry into its tag and, for an entry
// "TAG@sha256:HEX", the digest the tag is pinned to. The tag itself is not
// checked here (the API's tag validation does that).
func ParseTag(entry string) (tag, pin string, err error) {
	tag, pin, pinned := strings.Cut(entry, "@")
	if !pinned {
		return entry, "", nil
	}
	if !IsDigest(pin) {
		return tag, "", fmt.Errorf("%w %q: want sha256: and 64 lower-case hex characters", ErrInvalidPin, pin)
	}
	return tag, pin, nil
}
