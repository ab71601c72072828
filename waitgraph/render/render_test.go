package render

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-graphviz"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// fixture builds a Snapshot and the Analysis locks would make of it, without
// a process, for waitgraph.Build.
type fixture struct {
	s *snapshot.Snapshot
	a *locks.Analysis
}

func newFixture() *fixture {
	s := &snapshot.Snapshot{Schema: snapshot.Schema, Target: snapshot.TargetInfo{Kind: "pid", PID: 4321, Python: "3.12.1"}, Objects: map[string]*snapshot.Object{}}
	return &fixture{s: s, a: &locks.Analysis{Snap: s, Waits: map[int]*locks.Wait{}, Holds: map[int][]locks.Hold{}, Holders: map[string][]int{}}}
}

func lockRef(addr uint64, name string) locks.Ref {
	return locks.Ref{Kind: snapshot.KindLock, ID: fmt.Sprintf("lock@%#x", addr), Name: &name}
}

func (f *fixture) thread(tid int, name, fn, file string, line int) *fixture {
	f.s.Threads = append(f.s.Threads, snapshot.Thread{
		TID: tid, Ident: uint64(tid) * 0x1000, Name: name, State: snapshot.StateBlocked, GIL: snapshot.GILNone,
		Frames: []snapshot.Frame{{Function: fn, Qualname: fn, File: file, Line: line}},
	})
	return f
}

func (f *fixture) wait(tid int, r locks.Ref) *fixture {
	f.a.Waits[tid] = &locks.Wait{Ref: r, Evidence: []locks.Evidence{{Basis: locks.BasisFutex}}, Object: r.ID}
	return f
}

// hold makes tid hold r in a with block at file:line.
func (f *fixture) hold(tid int, r locks.Ref, file string, line int) *fixture {
	f.a.Holds[tid] = append(f.a.Holds[tid], locks.Hold{Ref: r, Evidence: []locks.Evidence{{Basis: locks.BasisWith, At: &locks.Site{File: file, Line: line}}}})
	f.a.Holders[r.ID] = append(f.a.Holders[r.ID], tid)
	return f
}

func (f *fixture) build() *waitgraph.Graph { return waitgraph.Build(f.s, f.a) }

// twoCycle is the classic lock-order deadlock: posting holds ledger and wants
// audit, auditing holds audit and wants ledger.
func twoCycle() *waitgraph.Graph {
	ledger, audit := lockRef(0x7f0010, "ledger"), lockRef(0x7f0020, "audit")
	return newFixture().
		thread(4355, "posting", "settle", "/srv/app/h.py", 17).
		thread(4356, "auditing", "check", "/srv/app/h.py", 29).
		hold(4355, ledger, "/srv/app/h.py", 15).wait(4355, audit).
		hold(4356, audit, "/srv/app/h.py", 27).wait(4356, ledger).
		build()
}

// dotOf is the DOT of g with its cycles in red, as cmd/pyhang sends it.
func dotOf(t *testing.T, g *waitgraph.Graph) []byte {
	t.Helper()
	b, err := g.DOT(g.Cycles())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nodeID is the DOT id waitgraph gives a node.
func nodeID(n waitgraph.Node) string {
	if n.Kind == waitgraph.ThreadNode {
		return fmt.Sprintf("tid:%d", n.TID)
	}
	return "res:" + n.Resource.ID
}

// svgNodes reads a Graphviz SVG: for each node group (class="node"), its
// <title> (the DOT id), its text lines and the stroke of its outline.
type svgNode struct {
	lines  []string
	stroke string
}

func parseSVG(t *testing.T, b []byte) map[string]*svgNode {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	nodes := map[string]*svgNode{}
	var cur *svgNode
	var title string
	var in string // element whose text we collect
	depth, nodeDepth := 0, -1
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			attr := func(k string) string {
				for _, a := range el.Attr {
					if a.Name.Local == k {
						return a.Value
					}
				}
				return ""
			}
			switch el.Name.Local {
			case "g":
				if attr("class") == "node" {
					cur, nodeDepth, title = &svgNode{}, depth, ""
				}
			case "title", "text":
				in = el.Name.Local
			case "polygon", "ellipse":
				if cur != nil && cur.stroke == "" {
					cur.stroke = attr("stroke")
				}
			}
		case xml.CharData:
			if cur == nil {
				continue
			}
			switch in {
			case "title":
				title += string(el)
			case "text":
				cur.lines = append(cur.lines, string(el))
			}
		case xml.EndElement:
			in = ""
			if el.Name.Local == "g" && depth == nodeDepth {
				nodes[title] = cur
				cur, nodeDepth = nil, -1
			}
			depth--
		}
	}
	return nodes
}

func TestRenderSVG(t *testing.T) {
	g := twoCycle()
	cycles := g.Cycles()
	src := dotOf(t, g)
	start := time.Now()
	svg, err := Render(src, "svg")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	again, err := Render(src, "svg")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SVG of a 2-cycle: first render %v, second %v, %d bytes", first, time.Since(start), len(svg))
	if !bytes.Equal(svg, again) {
		t.Error("two renders of the same graph differ")
	}

	nodes := parseSVG(t, svg)
	if len(cycles) != 1 {
		t.Fatalf("cycles %+v, want 1", cycles)
	}
	for _, c := range cycles {
		for _, tid := range c.Threads {
			n, _ := g.Thread(tid)
			checkSVGNode(t, nodes, nodeID(n), n.Label)
		}
		for _, id := range c.Resources {
			n, _ := g.Resource(id)
			checkSVGNode(t, nodes, nodeID(n), n.Label)
		}
	}
	if l := nodes["legend:thread"]; l == nil || l.stroke != "black" {
		t.Errorf("legend missing or red: %+v", l)
	}
}

func checkSVGNode(t *testing.T, nodes map[string]*svgNode, id, label string) {
	t.Helper()
	n := nodes[id]
	if n == nil {
		t.Errorf("SVG has no node %s", id)
		return
	}
	if want := strings.Split(label, "\n"); strings.Join(n.lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("node %s shows %q, want %q", id, n.lines, want)
	}
	if n.stroke != "red" {
		t.Errorf("node %s of a cycle drawn %q, want red", id, n.stroke)
	}
}

// redPixels counts clearly red pixels: the cycle's outlines, edges and text.
func redPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a > 0x8000 && r > 0xc000 && g < 0x5000 && bl < 0x5000 {
				n++
			}
		}
	}
	return n
}

func TestRenderPNG(t *testing.T) {
	src := dotOf(t, twoCycle())
	start := time.Now()
	out, err := Render(src, "png")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PNG of a 2-cycle: %v, %d bytes", time.Since(start), len(out))
	if !bytes.HasPrefix(out, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("not a PNG: % x", out[:min(8, len(out))])
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}

	// go-graphviz's own PNG renderer draws the text and arrowheads only;
	// pngEngine must draw the outlines and edges too, several times the red.
	ctx := context.Background()
	gv, err := graphviz.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gv.Close()
	gr, err := graphviz.ParseBytes(src)
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Close()
	var stock bytes.Buffer
	if err := gv.Render(ctx, gr, graphviz.PNG, &stock); err != nil {
		t.Fatal(err)
	}
	simg, err := png.Decode(&stock)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := redPixels(img), redPixels(simg)
	t.Logf("red pixels: %d with pngEngine, %d with go-graphviz's renderer", ours, theirs)
	if ours < 2*theirs {
		t.Errorf("pngEngine draws %d red pixels, go-graphviz's renderer %d: if go-graphviz fixed its PNG renderer, drop pngEngine", ours, theirs)
	}
}

func TestRenderErrors(t *testing.T) {
	src := dotOf(t, twoCycle())
	for _, format := range []string{"dot", "gif", ""} {
		if out, err := Render(src, format); err == nil || len(out) != 0 || !strings.Contains(err.Error(), "want svg or png") {
			t.Errorf("format %q: %d bytes, err %v", format, len(out), err)
		}
	}
	for _, bad := range []string{"", "digraph {", "strict digraph x { a -> }", "\x00\xff"} {
		if out, err := Render([]byte(bad), "svg"); err == nil || len(out) != 0 {
			t.Errorf("DOT %q: %d bytes, err %v", bad, len(out), err)
		}
	}
}

// TestRenderHostileNames: names read from the target can hold quotes,
// backslashes, markup, control bytes and invalid UTF-8; the picture must
// still render and show them, cleaned and cut.
func TestRenderHostileNames(t *testing.T) {
	name := `<b>"evil"\n` + "\x00\xff" + strings.Repeat("y", 300)
	f := newFixture().thread(1, name, `f"\`, "/a/<x>.py", 1)
	l := lockRef(0x10, `<i>"lock"</i>\`)
	f.hold(1, l, `/a/"q".py`, 1).wait(1, l)
	g := f.build()
	svg, err := Render(dotOf(t, g), "svg")
	if err != nil {
		t.Fatal(err)
	}
	nodes := parseSVG(t, svg)
	n, _ := g.Thread(1)
	checkSVGNode(t, nodes, "tid:1", n.Label)
	r, _ := g.Resource(l.ID)
	checkSVGNode(t, nodes, "res:"+l.ID, r.Label)
	if !strings.HasPrefix(n.Label, `<b>"evil"\\n\x00\xffyyy`) || !strings.Contains(n.Label, "… (tid 1)") {
		t.Errorf("thread label %q", n.Label)
	}
}
