package main

import (
	"fmt"

	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/spf13/cobra"
)

// localsFlags say whether and how fully locals are shown.
type localsFlags struct {
	mode                string // "", "short" (--locals) or "full" (--locals=full)
	depth, items, width int
}

func (f *localsFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.mode, "locals", "", "show each frame's local variables, in definition order: --locals with short reprs, --locals=full with whole ones")
	c.Flags().Lookup("locals").NoOptDefVal = "short"
	d := cpython.DefaultReprLimits
	c.Flags().IntVar(&f.depth, "locals-depth", d.Depth, "levels of nested containers a local's repr shows (implies --locals)")
	c.Flags().IntVar(&f.items, "locals-items", d.Items, "items of a container a local's repr shows (implies --locals)")
	c.Flags().IntVar(&f.width, "locals-width", d.Width, "characters of a local's repr, about (implies --locals)")
}

// limits turns the flags into capture options: whether to show locals, and
// the repr limits. --locals=full starts from cpython.FullReprLimits; a limit
// flag given on its own overrides the starting point, and shows locals.
func (f *localsFlags) limits(c *cobra.Command) (bool, cpython.ReprLimits, error) {
	lim := cpython.DefaultReprLimits
	on := false
	switch f.mode {
	case "":
	case "short":
		on = true
	case "full":
		on, lim = true, cpython.FullReprLimits
	default:
		return false, lim, usageError{fmt.Errorf("--locals takes no value or =full, not %q", f.mode)}
	}
	full := cpython.FullReprLimits
	for _, fl := range []struct {
		name     string
		val, max int
		min      int
		dst      *int
	}{
		{"locals-depth", f.depth, full.Depth, 0, &lim.Depth},
		{"locals-items", f.items, full.Items, 0, &lim.Items},
		{"locals-width", f.width, full.Width, 1, &lim.Width},
	} {
		if !c.Flags().Changed(fl.name) {
			continue
		}
		if fl.val < fl.min || fl.val > fl.max {
			return false, lim, usageError{fmt.Errorf("--%s must be from %d to %d, not %d", fl.name, fl.min, fl.max, fl.val)}
		}
		on, *fl.dst = true, fl.val
	}
	return on, lim, nil
}
