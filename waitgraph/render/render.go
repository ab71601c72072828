// Package render draws a wait-for graph written in DOT (waitgraph.Graph.DOT)
// as SVG or PNG with go-graphviz.
//
// Only cmd/pyhang-render imports it. go-graphviz compiles Graphviz (C built
// to WebAssembly) with wazero in its package init, on every start of any
// binary that links it, and keeps the compiled code in $TMPDIR/go-graphviz.
// The process that attaches to a target must neither pay that nor load
// code from a directory another user may write, so drawing happens in a
// program of its own, started only after the target has been let go.
package render

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/goccy/go-graphviz"
	"github.com/goccy/go-graphviz/gvc"

	"github.com/pyhang/pyhang/internal/rendercache/guard"
)

// guard's init sets TMPDIR, where go-graphviz's init keeps compiled code, to
// the user's own cache or to none, before that init runs; this package's
// init runs after go-graphviz's, which it imports, and puts TMPDIR back.
func init() { guard.Restore() }

// renderMu serialises rendering. go-graphviz runs Graphviz in one wazero
// module instance per process, created by the package's init; its C state
// is not safe for concurrent use.
//
// Creating a Graphviz context and rendering a small graph take
// milliseconds, so each call makes and frees its own context and the
// package keeps no renderer between calls.
var renderMu sync.Mutex

// Render lays out DOT source with Graphviz's dot engine and returns the
// picture as "svg" or "png".
func Render(src []byte, format string) ([]byte, error) {
	switch format {
	case "svg", "png":
		return renderDOT(src, graphviz.Format(format))
	}
	return nil, fmt.Errorf("unknown picture format %q (want svg or png)", format)
}

func renderDOT(src []byte, format graphviz.Format) (out []byte, err error) {
	renderMu.Lock()
	defer renderMu.Unlock()
	// The wasm bridge panics on errors raised inside callbacks; a picture
	// is never worth the process.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("graphviz failed rendering %s: %v", format, r)
		}
	}()
	ctx := context.Background()
	rp, err := gvc.NewRenderPlugin(ctx, "png", newPNGEngine())
	if err != nil {
		return nil, fmt.Errorf("starting graphviz's png renderer: %w", err)
	}
	dp, err := gvc.PNGDevicePlugin(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting graphviz's png device: %w", err)
	}
	gv, err := graphviz.NewWithPlugins(ctx, rp, dp)
	if err != nil {
		return nil, fmt.Errorf("starting graphviz: %w", err)
	}
	defer gv.Close()
	gr, err := graphviz.ParseBytes(src)
	if err != nil {
		return nil, fmt.Errorf("graphviz could not parse the graph (%d bytes of DOT): %w", len(src), err)
	}
	defer gr.Close()
	var buf bytes.Buffer
	if err := gv.Render(ctx, gr, format, &buf); err != nil {
		return nil, fmt.Errorf("graphviz rendering %s: %w", format, err)
	}
	return buf.Bytes(), nil
}
