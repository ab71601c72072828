package cpython

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// dumpHeader is the first line testdata/dumpcode.py prints.
type dumpHeader struct {
	Version string   `json:"version"`
	Modules []string `json:"modules"`
	Missing []string `json:"missing"`
}

// dumpCode is one code object as testdata/dumpcode.py prints it: the raw
// tables and the interpreter's own reading of them (see the script's doc).
type dumpCode struct {
	Module    string   `json:"m"`
	Qualname  string   `json:"q"`
	FirstLine int      `json:"first"`
	Table     string   `json:"tbl"`
	Lines     []int    `json:"lines"`
	PosDiff   int      `json:"posdiff"`
	ExcTable  *string  `json:"exc"`
	Entries   [][5]int `json:"ents"` // start, end (exclusive), target, depth, lasti; code units
	Handler   []int    `json:"h"`    // per code unit: index into Entries, -1 = none
	Positions [][4]int `json:"pos"`  // co_positions per code unit (3.11+), -1 = None
	Code      string   `json:"code"` // co_code (3.10+)
	Enclosing [][3]any `json:"encl"` // unit, line, basis for each unit without a line
}

// tableCounts sums one interpreter's comparison.
type tableCounts struct {
	codes, positions, lineMismatch, posDiff                   int
	locations, locMismatch, lineless, enclMismatch, loopHeads int
	excTables, excEntries, excUnits, excCovered, excMismatch  int
}

// TestLineTablesAgainstInterpreters decodes the line and exception tables of
// every code object in a sample of stdlib modules, compiled by each
// interpreter, and compares every instruction position with the
// interpreter's own answer (co_lines, dis.findlinestarts,
// dis._parse_exception_table).
//
// PYHANG_WRITE_FUZZ_SEEDS=1 also rewrites the real-table seeds of the fuzz
// targets in testdata/fuzz from a few chosen code objects.
func TestLineTablesAgainstInterpreters(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every interpreter over 50 stdlib modules; skipped with -short")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "dumpcode.py"))
	if err != nil {
		t.Fatal(err)
	}
	writeSeeds := os.Getenv("PYHANG_WRITE_FUZZ_SEEDS") == "1"
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := in.Command(ctx, script)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatalf("starting %s: %v", in.Name, err)
			}
			c, derr := compareDump(t, in.Minor, out, writeSeeds, in.Name)
			_, _ = io.Copy(io.Discard, out) // let the script finish if decoding stopped early
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%s dumpcode.py: %v\n%s", in.Name, err, stderr.String())
			}
			if derr != nil {
				t.Fatalf("%s: reading dumpcode.py output: %v", in.Name, derr)
			}
			if c.codes == 0 {
				t.Fatalf("%s: dumpcode.py printed no code objects", in.Name)
			}
			t.Logf("%s (%s): %d code objects, %d instructions, %d line mismatches (co_positions vs co_lines: %d)",
				in.Version, in.Name, c.codes, c.positions, c.lineMismatch, c.posDiff)
			if in.Minor >= 10 {
				if c.lineless == 0 {
					t.Errorf("%s: no instruction without a line in the dump: the enclosing-line rule went untested", in.Name)
				}
				t.Logf("%s (%s): %d instructions without a line (%d at a loop's back-jump): %d enclosing-line mismatches",
					in.Version, in.Name, c.lineless, c.loopHeads, c.enclMismatch)
			}
			if in.Minor >= 11 {
				if c.locations == 0 {
					t.Errorf("%s: no co_positions in the dump", in.Name)
				}
				t.Logf("%s (%s): %d positions (line, end line, columns) compared with co_positions: %d mismatches",
					in.Version, in.Name, c.locations, c.locMismatch)
			}
			if in.Minor >= 11 {
				if c.excTables == 0 {
					t.Errorf("%s: no exception tables in the dump", in.Name)
				}
				t.Logf("%s (%s): exception tables: %d tables, %d entries, %d code units (%d covered), %d mismatches",
					in.Version, in.Name, c.excTables, c.excEntries, c.excUnits, c.excCovered, c.excMismatch)
			}
		})
	}
}

// compareDump reads the script's JSON stream and checks every position,
// reporting the first few mismatches in detail.
func compareDump(t *testing.T, minor int, r io.Reader, writeSeeds bool, interp string) (tableCounts, error) {
	var c tableCounts
	dec := json.NewDecoder(r)
	var hdr dumpHeader
	if err := dec.Decode(&hdr); err != nil {
		return c, fmt.Errorf("header: %w", err)
	}
	if len(hdr.Missing) > 0 {
		t.Logf("%s: stdlib modules not present: %v", hdr.Version, hdr.Missing)
	}
	const maxReports = 10
	reports := 0
	report := func(format string, args ...any) {
		if reports < maxReports {
			t.Errorf(format, args...)
		}
		reports++
	}
	for {
		var d dumpCode
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return c, fmt.Errorf("after %d code objects: %w", c.codes, err)
		}
		c.codes++
		c.posDiff += d.PosDiff
		tbl, err := hex.DecodeString(d.Table)
		if err != nil {
			return c, fmt.Errorf("%s %s: table hex: %w", d.Module, d.Qualname, err)
		}
		for k, want := range d.Lines {
			var got int
			switch {
			case minor <= 9:
				got = lineFromLnotab(tbl, d.FirstLine, 2*k) // f_lasti is a byte offset
			case minor == 10:
				got = lineFromLinetable310(tbl, d.FirstLine, k)
			default:
				got = locationAt(tbl, d.FirstLine, k).line
			}
			c.positions++
			if got != want {
				c.lineMismatch++
				report("%s %s (first line %d, table %s): position %d: line %d, interpreter says %d",
					d.Module, d.Qualname, d.FirstLine, d.Table, k, got, want)
			}
		}
		compareLocations(&c, minor, d, tbl, report)
		if err := compareEnclosing(&c, minor, d, tbl, report); err != nil {
			return c, err
		}
		if writeSeeds {
			if err := writeFuzzSeeds(interp, minor, d, tbl); err != nil {
				return c, err
			}
		}
		if d.ExcTable == nil {
			continue
		}
		exc, err := hex.DecodeString(*d.ExcTable)
		if err != nil {
			return c, fmt.Errorf("%s %s: exception table hex: %w", d.Module, d.Qualname, err)
		}
		if len(exc) > 0 {
			c.excTables++
		}
		c.excEntries += len(d.Entries)
		for unit, idx := range d.Handler {
			var want excWant
			if idx >= 0 && idx < len(d.Entries) {
				e := d.Entries[idx]
				want = excWant{target: e[2], depth: e[3], lasti: e[4] != 0, ok: true}
				c.excCovered++
			}
			target, depth, lasti, ok := exceptionTableEntry(exc, unit)
			c.excUnits++
			if got := (excWant{target, depth, lasti, ok}); got != want {
				c.excMismatch++
				report("%s %s (exception table %s): unit %d: %+v, interpreter says %+v",
					d.Module, d.Qualname, *d.ExcTable, unit, got, want)
			}
		}
	}
	if reports > maxReports {
		t.Errorf("… %d more mismatches", reports-maxReports)
	}
	return c, nil
}

// compareLocations checks every unit's full position with co_positions.
func compareLocations(c *tableCounts, minor int, d dumpCode, tbl []byte, report func(string, ...any)) {
	if minor < 11 {
		return
	}
	for k, want := range d.Positions {
		got := locationAt(tbl, d.FirstLine, k)
		c.locations++
		if g := [4]int{got.line, got.endLine, got.col, got.endCol}; g != want {
			c.locMismatch++
			report("%s %s (first line %d, table %s): unit %d: position %v, co_positions says %v",
				d.Module, d.Qualname, d.FirstLine, d.Table, k, g, want)
		}
	}
}

// compareEnclosing checks the line reported for every unit without one with
// the same rule worked out by the script with dis.
func compareEnclosing(c *tableCounts, minor int, d dumpCode, tbl []byte, report func(string, ...any)) error {
	if minor < 10 {
		return nil
	}
	units, err := hex.DecodeString(d.Code)
	if err != nil {
		return fmt.Errorf("%s %s: code hex: %w", d.Module, d.Qualname, err)
	}
	l, err := LayoutFor(minor)
	if err != nil {
		return err
	}
	lineOf := func(k int) int {
		if k >= 0 && k < len(d.Lines) {
			return d.Lines[k]
		}
		return -1
	}
	for _, e := range d.Enclosing {
		unit, wantLine, wantBasis := int(e[0].(float64)), int(e[1].(float64)), e[2].(string)
		line, basis := enclosingLine(l, units, lineOf, d.FirstLine, unit)
		c.lineless++
		if wantBasis == LineLoopHead {
			c.loopHeads++
		}
		if line != wantLine || basis != wantBasis {
			c.enclMismatch++
			report("%s %s: unit %d has no line: pyhang says %d (%s), dis says %d (%s)",
				d.Module, d.Qualname, unit, line, basis, wantLine, wantBasis)
		}
	}
	return nil
}

// seedFunctions are the code objects whose tables become fuzz seeds, present
// in every version: try/finally inside a method (Condition.wait), a try inside
// `with` (Barrier.wait), long straight-line code (Thread.join).
var seedFunctions = map[string]bool{"Condition.wait": true, "Barrier.wait": true, "Thread.join": true}

// writeFuzzSeeds writes d's tables as seed corpus files of the fuzz target
// for its format, named after the interpreter and function.
func writeFuzzSeeds(interp string, minor int, d dumpCode, tbl []byte) error {
	if !seedFunctions[d.Qualname] || d.Module != "threading" {
		return nil
	}
	target := "FuzzLocations"
	switch {
	case minor <= 9:
		target = "FuzzLnotab"
	case minor == 10:
		target = "FuzzLinetable310"
	}
	name := interp + "-" + d.Qualname
	mid := len(d.Lines) / 2
	if minor <= 9 {
		mid *= 2
	}
	if err := writeSeed(target, name, tbl, d.FirstLine, mid); err != nil {
		return err
	}
	if d.ExcTable == nil {
		return nil
	}
	exc, err := hex.DecodeString(*d.ExcTable)
	if err != nil {
		return err
	}
	return writeSeed("FuzzExceptionTable", name, exc, len(d.Lines)/2)
}

// writeSeed writes one file in the `go test fuzz v1` corpus format.
func writeSeed(target, name string, tbl []byte, ints ...int) error {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(tbl)))
	for _, v := range ints {
		fmt.Fprintf(&b, "int(%d)\n", v)
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
}
