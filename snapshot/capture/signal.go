package capture

import (
	"fmt"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/target"
)

var signalNames = map[int]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
	8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
	14: "SIGALRM", 15: "SIGTERM", 17: "SIGCHLD", 18: "SIGCONT", 20: "SIGTSTP", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 31: "SIGSYS",
}

// signalName is "SIGALRM", or "signal 34" for a number without a name here.
func signalName(n int) string {
	if s := signalNames[n]; s != "" {
		return s
	}
	return fmt.Sprintf("signal %d", n)
}

// signalInfo is the signal that killed the process, kt the thread that took
// it (nil when the core has no such thread).
func signalInfo(si *target.SigInfo, kt *target.Thread) *snapshot.Signal {
	s := &snapshot.Signal{Number: si.Signo, Name: signalName(si.Signo), Code: si.Code, TID: si.TID, Sender: si.Sender}
	if kt != nil && kt.Regs != nil && !kt.Regs.Partial {
		sp := snapshot.Addr(kt.Regs.RSP)
		s.SP = &sp
	}
	switch si.Signo {
	case snapshot.SIGILL, snapshot.SIGBUS, snapshot.SIGFPE, snapshot.SIGSEGV:
		// Only a fault the kernel raised has an address; a signal a
		// process sent carries its pid in that word.
		if si.Code > 0 {
			a := snapshot.Addr(si.Addr)
			s.Addr = &a
		}
	}
	return s
}
