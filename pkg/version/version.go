package version

import (
	"runtime/debug"
	"strings"
	"sync"
)

// modulePath is this module's import path, looked up in the build info.
const modulePath = "github.com/portager/portager"

// Info describes a build.
type Info struct {
	// Version is the module version ("v0.1.0"), or "devel" for a build
	// from a working tree.
	Version string
	// Revision is the commit built from, and Modified whether the tree
	// had changes; empty without version control information.
	Revision string
	Modified bool
}

// Get returns the running binary's Info.
func Get() Info { return get() }

var get = sync.OnceValue(func() Info {
	info := Info{Version: "devel"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	// Our own binaries, or a program that imports this module.
	for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		if m.Path == modulePath && m.Version != "" && m.Version != "(devel)" {
			info.Version = m.Version
			break
		}
	}
	if bi.Main.Path != modulePath {
		return info
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
})

// String is the version with the commit: "devel (commit 1a2b3c4d5e6f,
// modified)".
func (i Info) String() string {
	var extra []string
	if i.Revision != "" {
		extra = append(extra, "commit "+i.Revision[:min(12, len(i.Revision))])
	}
	if i.Modified {
		extra = append(extra, "modified")
	}
	if len(extra) == 0 {
		return i.Version
	}
	return i.Version + " (" + strings.Join(extra, ", ") + ")"
}
