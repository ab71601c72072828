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

func signalInfo(si *target.SigInfo) *snapshot.Signal {
	s := &snapshot.Signal{Number: si.Signo, Name: signalName(si.Signo), Code: si.Code, TID: si.TID}
	switch si.Signo {
	case 4, 7, 8, 11:
		a := snapshot.Addr(si.Addr)
		s.Addr = &a
	}
	return s
}

// isCrash tells a fault (or abort()) inside the process from a signal sent
// from outside (si_code SI_USER = 0), such as the SIGABRT used to make a core.
func isCrash(s *snapshot.Signal) bool {
	switch s.Number {
	case 4, 5, 7, 8, 11, 31:
		return s.Code > 0
	case 6:
		return s.Code == -6 // SI_TKILL: abort() raising in its own thread
	}
	return false
}
