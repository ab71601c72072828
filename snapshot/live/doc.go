// Package live reads a running Linux process as a target.Target.
//
// By default Attach takes a consistent snapshot: it seizes every thread with
// PTRACE_SEIZE (which, unlike PTRACE_ATTACH, sends no SIGSTOP and leaves no
// trace in the target's signal state), stops them with PTRACE_INTERRUPT, reads
// their registers, and keeps them stopped while the caller reads memory.
// Close resumes them; a thread that was waiting in a system call (a futex, a
// sleep) restarts it as if nothing happened. The pause is what Paused reports.
//
// The target is never left stopped:
//   - Close detaches every thread (the snapshot code calls it right after
//     reading memory).
//   - A watchdog resumes the target once Options.MaxPause has passed, even if
//     the caller is still reading; later reads then see a running process and
//     a warning says so.
//   - SIGINT, SIGTERM, SIGHUP and SIGQUIT received while the target is
//     stopped first resume it, then take their usual effect.
//   - If pyhang dies in any other way (SIGKILL, a crash), the kernel detaches
//     its tracees, and seized threads carry no pending stop: they run on.
//
// All ptrace requests of one Process come from one OS thread (ptrace ties a
// tracee to the tracing thread, not to the process): a goroutine locked to its
// thread does them and, when done, exits without unlocking, so the Go runtime
// ends that thread and the kernel drops whatever tracee might remain.
//
// With Options.NonBlocking nothing is stopped and ptrace is not used: thread
// states and system calls come from /proc/PID/task/TID/{stat,syscall}, and
// memory is read from a running process, so it may be inconsistent.
package live
