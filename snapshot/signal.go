package snapshot

// Signal numbers and si_code values of Linux x86-64 (asm-generic/signal.h,
// asm-generic/siginfo.h).
const (
	SIGILL  = 4
	SIGTRAP = 5
	SIGABRT = 6
	SIGBUS  = 7
	SIGFPE  = 8
	SIGSEGV = 11
	SIGSYS  = 31

	// SITKill is the si_code of a signal sent with tgkill(): raise(),
	// abort(), pthread_kill() (SI_USER, 0, is kill()'s).
	SITKill = -6
	// SIUser is the si_code of a signal sent with kill().
	SIUser = 0
)

// Crashed reports whether the process died of a crash rather than of a
// signal sent to it from outside: a fault the kernel raised (si_code > 0),
// or a fatal signal the process raised itself in one of its threads
// (si_code SI_TKILL: abort(), a Py_FatalError, faulthandler re-raising the
// fault it caught), when the sender is the process or not recorded. A
// kill() (SI_USER), as `kill -ABRT` and tools that take cores use it, is
// none, unless the process sent a fault signal to itself
// (os.kill(os.getpid(), SIGSEGV)): it died of its own doing.
func (t *TargetInfo) Crashed() bool {
	s := t.Signal
	if s == nil {
		return false
	}
	fromItself := s.Code == SITKill && (s.Sender == 0 || t.PID == 0 || s.Sender == t.PID)
	switch s.Number {
	case SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, SIGSYS:
		killedItself := s.Code == SIUser && t.PID != 0 && s.Sender == t.PID
		return s.Code > 0 || fromItself || killedItself
	case SIGABRT:
		return fromItself
	}
	return false
}
