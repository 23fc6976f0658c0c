// Package packs embeds the packs shipped with Attune so a fresh install can
// register them without any files on disk.
package packs

import "embed"

// Core is the core pack (ref "core"); its root is the "core" directory, so
// use fs.Sub(Core, "core") to get the pack root.
//
//go:embed all:core
var Core embed.FS
