// Package testprogs holds Python programs that hang or crash in known ways.
// They are the end-to-end tests' subjects and pyhang demo's examples; this
// file only embeds them so the pyhang binary can run one anywhere.
package testprogs

import "embed"

// FS holds every program and the harness they share.
//
//go:embed *.py
var FS embed.FS
