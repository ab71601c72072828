//go:build linux && amd64

package live

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// releaseSignals are the signals that end pyhang; the target must run again
// before they take effect.
var releaseSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT}

// releaseOnSignal resumes the target when one of releaseSignals arrives while
// it is stopped, then raises the signal again so that it has its usual effect
// (the Go runtime's default, or the program's own handler, which therefore
// sees it twice). It stops listening once the target is released. It is
// armed once a tracer, as soon as the threads are seized (Process.Seize),
// where a snapshot's side work runs: the first signal.Notify starts the
// runtime's signal loop, and arming it at the stop put that, a millisecond on
// a virtual machine, between the decode and the pause.
func (t *tracer) releaseOnSignal() {
	t.sigOnce.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, releaseSignals...)
		go func() {
			select {
			case sig := <-ch:
				signal.Stop(ch)
				t.release("signal " + sig.String())
				if s, ok := sig.(syscall.Signal); ok {
					_ = unix.Kill(os.Getpid(), s)
				}
			case <-t.exited:
				signal.Stop(ch)
			}
		}()
	})
}
