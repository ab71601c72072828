package render

import (
	"context"

	"github.com/goccy/go-graphviz/gvc"
)

// pngEngine works around go-graphviz v0.2.10's PNG renderer, which draws
// text and arrowheads but loses every node outline and edge: the "filled"
// flag Graphviz passes through the wasm bridge arrives as true for every
// shape, so outlines are filled with the (white) fill colour and edge curves
// are filled shut. It decides fill from what waitgraph's DOT draws instead:
// the first polygon of a page is the background, three-point polygons are
// arrowheads (that DOT uses the default "normal" arrow), and no node is
// styled "filled", so everything else is an outline.
type pngEngine struct {
	*gvc.ImageRenderer
	background bool // the next polygon is the page background
}

func newPNGEngine() *pngEngine {
	return &pngEngine{ImageRenderer: &gvc.ImageRenderer{DefaultRenderEngine: new(gvc.DefaultRenderEngine)}}
}

func (e *pngEngine) BeginPage(ctx context.Context, job *gvc.Job) error {
	e.background = true
	return e.ImageRenderer.BeginPage(ctx, job)
}

func (e *pngEngine) Polygon(ctx context.Context, job *gvc.Job, points []*gvc.PointFloat, _ bool) error {
	fill := e.background || len(points) == 3
	e.background = false
	return e.ImageRenderer.Polygon(ctx, job, points, fill)
}

func (e *pngEngine) Ellipse(ctx context.Context, job *gvc.Job, points []*gvc.PointFloat, _ bool) error {
	return e.ImageRenderer.Ellipse(ctx, job, points, false)
}

func (e *pngEngine) BezierCurve(ctx context.Context, job *gvc.Job, points []*gvc.PointFloat, _ bool) error {
	return e.ImageRenderer.BezierCurve(ctx, job, points, false)
}
