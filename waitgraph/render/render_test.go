package waitgraph

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-graphviz"
)

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
	g := twoCycle().build()
	cycles := g.Cycles()
	var svg bytes.Buffer
	start := time.Now()
	if err := g.Render(&svg, "svg", cycles); err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	var again bytes.Buffer
	if err := g.Render(&again, "svg", cycles); err != nil {
		t.Fatal(err)
	}
	t.Logf("SVG of a 2-cycle: first render %v, second %v, %d bytes", first, time.Since(start), svg.Len())
	if !bytes.Equal(svg.Bytes(), again.Bytes()) {
		t.Error("two renders of the same graph differ")
	}

	nodes := parseSVG(t, svg.Bytes())
	for _, c := range cycles {
		for _, tid := range c.Threads {
			n, _ := g.Thread(tid)
			checkSVGNode(t, nodes, dotNodeID(&n), n.Label)
		}
		for _, id := range c.Resources {
			n, _ := g.Resource(id)
			checkSVGNode(t, nodes, dotNodeID(&n), n.Label)
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
	g := twoCycle().build()
	var out bytes.Buffer
	start := time.Now()
	if err := g.Render(&out, "png", g.Cycles()); err != nil {
		t.Fatal(err)
	}
	t.Logf("PNG of a 2-cycle: %v, %d bytes", time.Since(start), out.Len())
	if !bytes.HasPrefix(out.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("not a PNG: % x", out.Bytes()[:min(8, out.Len())])
	}
	img, err := png.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}

	// go-graphviz's own PNG renderer draws the text and arrowheads only;
	// pngEngine must draw the outlines and edges too, several times the red.
	src, err := g.DOT(g.Cycles())
	if err != nil {
		t.Fatal(err)
	}
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

func TestRenderDOTAndErrors(t *testing.T) {
	g := twoCycle().build()
	var out bytes.Buffer
	if err := g.Render(&out, "dot", nil); err != nil {
		t.Fatal(err)
	}
	want, _ := g.DOT(nil)
	if !bytes.Equal(out.Bytes(), want) {
		t.Error(`Render "dot" differs from DOT()`)
	}
	out.Reset()
	if err := g.Render(&out, "gif", nil); err == nil || out.Len() != 0 {
		t.Errorf("gif: err %v, %d bytes written", err, out.Len())
	}
	if err := g.Render(failWriter{}, "svg", nil); err == nil || !strings.Contains(err.Error(), "writing the svg") {
		t.Errorf("write error: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestRenderHostileNames: names read from the target can hold quotes,
// backslashes, markup, control bytes and invalid UTF-8; the picture must
// still render and show them, cleaned and cut.
func TestRenderHostileNames(t *testing.T) {
	name := `<b>"evil"\n` + "\x00\xff" + strings.Repeat("y", 300)
	f := newFixture().thread(1, name, `f"\`, "/a/<x>.py", 1)
	l := lockRef(0x10, `<i>"lock"</i>\`)
	f.hold(1, l, "with block at \"q\".py:1").wait(1, l)
	g := f.build()
	var svg bytes.Buffer
	if err := g.Render(&svg, "svg", g.Cycles()); err != nil {
		t.Fatal(err)
	}
	nodes := parseSVG(t, svg.Bytes())
	n, _ := g.Thread(1)
	checkSVGNode(t, nodes, "tid:1", n.Label)
	r, _ := g.Resource(l.ID)
	checkSVGNode(t, nodes, "res:"+l.ID, r.Label)
	if !strings.HasPrefix(n.Label, `<b>"evil"\n\x00\xffyyy`) || !strings.Contains(n.Label, "… (tid 1)") {
		t.Errorf("thread label %q", n.Label)
	}
}
