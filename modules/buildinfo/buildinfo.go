// Package buildinfo carries the version stamped into the binary at link time
// (`-ldflags -X`), shown by `attune version`, /version and attune_build_info.
package buildinfo

import "runtime"

// Set with -ldflags "-X github.com/attune-system/attune/modules/buildinfo.Version=…".
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = ""
)

// Info is the build description served at /version.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"go_version"`
}

// Get returns the build description.
func Get() Info {
	return Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version()}
}
