package main

import (
	"fmt"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
)

// lockStarvationSummary says who is starved of which lock, for how long.
func (w *words) lockStarvationSummary(d *heuristics.StarvationDetails) string {
	return fmt.Sprintf("starved: %s has waited for %s for at least %.1f s while %d other threads took turns holding it and kept running — a lock passed among readers who keep coming is never free for a writer: give waiting writers preference, or bound the wait with a timeout",
		w.threadName(d.Thread), w.shortRef(d.Waits), float64(d.For), len(d.Holders))
}

// lockStarvationEvidence lists the wait, the holders seen and who kept running.
func (w *words) lockStarvationEvidence(d *heuristics.StarvationDetails) []string {
	var hs, rs []string
	for _, tid := range d.Holders {
		hs = append(hs, w.threadLabel(tid))
	}
	for _, tid := range d.Running {
		rs = append(rs, w.threadLabel(tid))
	}
	return []string{
		fmt.Sprintf("%s waits for %s at %s, with the same stack and no CPU time at every look for %.1f s",
			w.threadLabel(d.Thread), w.ref(d.Waits), w.frameAt(d.Thread, d.Frame), float64(d.For)),
		fmt.Sprintf("seen holding it (surely or probably) at one look or another: %s", strings.Join(hs, ", ")),
		fmt.Sprintf("kept running meanwhile: %s", strings.Join(rs, ", ")),
	}
}
