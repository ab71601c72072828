package snapshot

// Sources reads the target's source files through the target's own view of
// the file system: /proc/PID/root for a live process (its mount namespace,
// its container), the --sysroot folder for a core from another machine. A
// file that is not there is reported missing, never replaced by the file of
// the same name on the machine running pyhang.
type Sources interface {
	// Text returns the file's text, or an error saying why it cannot be had.
	Text(path string) (string, error)
}
