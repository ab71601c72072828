package waitgraph

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/goccy/go-graphviz"
	"github.com/goccy/go-graphviz/gvc"
)

// renderMu serialises rendering. go-graphviz runs Graphviz (C compiled to
// WebAssembly) in one wazero module instance per process, created by the
// package's init; its C state is not safe for concurrent use.
//
// The costly part, compiling that module, happens in go-graphviz's init, not
// here (about 2 s on a cold cache, 0.2 s once $TMPDIR/go-graphviz holds the
// compiled code). Creating a Graphviz context and rendering a small graph
// take milliseconds, so each call makes and frees its own context and the
// package keeps no renderer between calls.
var renderMu sync.Mutex

// Render writes the graph to w as "svg", "png" or "dot", the highlight
// cycles in red. Nothing is written when rendering fails.
func (g *Graph) Render(w io.Writer, format string, highlight []Cycle) error {
	src, err := g.DOT(highlight)
	if err != nil {
		return err
	}
	var out []byte
	switch format {
	case "dot":
		out = src
	case "svg", "png":
		out, err = renderDOT(src, graphviz.Format(format))
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown graph format %q (want svg, png or dot)", format)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("writing the %s wait-for graph: %w", format, err)
	}
	return nil
}

// renderDOT lays out DOT source with the dot engine and renders it.
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
		return nil, fmt.Errorf("graphviz could not parse the wait-for graph (%d bytes of DOT): %w", len(src), err)
	}
	defer gr.Close()
	var buf bytes.Buffer
	if err := gv.Render(ctx, gr, format, &buf); err != nil {
		return nil, fmt.Errorf("graphviz rendering %s: %w", format, err)
	}
	return buf.Bytes(), nil
}
