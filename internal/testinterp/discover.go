package testinterp

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// candidate is an interpreter to try: how to run it and which executable it is.
type candidate struct {
	name string   // name if it works; "" to derive "debian-3.X" from the version
	cmd  []string // argv prefix
	exe  string   // the real ELF executable (not a wrapper script)
	// debugDir holds separate debug files for the build, if it exists.
	debugDir string
}

// Minor versions the tests expect from pyenv when pyenv is on the machine.
const pyenvFirstMinor, pyenvLastMinor = 8, 13

var releaseName = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)

func discover() found {
	var d found
	var cands []candidate

	// pyenv: every CPython release directory.
	pyenvMinors := map[int]bool{}
	root := pyenvRoot()
	entries, err := os.ReadDir(filepath.Join(root, "versions"))
	pyenvThere := err == nil
	if err != nil {
		d.skipped = append(d.skipped, skipped{"pyenv", fmt.Sprintf("no versions in %s: %v", root, err)})
	}
	for _, e := range entries {
		m := releaseName.FindStringSubmatch(e.Name())
		if m == nil {
			d.skipped = append(d.skipped, skipped{"pyenv " + e.Name(), "not a CPython release directory"})
			continue
		}
		major, _ := strconv.Atoi(m[1])
		minor, _ := strconv.Atoi(m[2])
		if major != 3 || minor < 8 {
			d.skipped = append(d.skipped, skipped{"pyenv " + e.Name(), "older than 3.8"})
			continue
		}
		exe := filepath.Join(root, "versions", e.Name(), "bin", fmt.Sprintf("python3.%d", minor))
		cands = append(cands, candidate{name: "pyenv-" + e.Name(), cmd: []string{exe}, exe: exe})
	}

	// Debian's own python3.
	if exe, err := filepath.EvalSymlinks("/usr/bin/python3"); err == nil {
		cands = append(cands, candidate{cmd: []string{"/usr/bin/python3"}, exe: exe})
	} else {
		d.skipped = append(d.skipped, skipped{"debian python3", err.Error()})
		d.missing = append(d.missing, "debian python3: "+err.Error())
	}

	// Debian unstable, run through its own loader by the wrappers install-test-deps.sh writes.
	udir, uerr := unstableDir()
	for _, v := range []string{"3.13", "3.14"} {
		name := "unstable-" + v
		wrapper := filepath.Join(udir, "bin", "python"+v)
		exe := filepath.Join(udir, "root", "usr", "bin", "python"+v)
		reason := ""
		switch {
		case uerr != nil:
			reason = "cannot locate the repository: " + uerr.Error()
		case !fileExists(wrapper) || !fileExists(exe):
			reason = "not installed: run scripts/install-test-deps.sh"
		}
		if reason != "" {
			d.skipped = append(d.skipped, skipped{name, reason})
			d.missing = append(d.missing, name+": "+reason)
			continue
		}
		cands = append(cands, candidate{name: name, cmd: []string{wrapper}, exe: exe,
			debugDir: filepath.Join(udir, "root", "usr", "lib", "debug")})
	}

	for _, c := range cands {
		in, err := inspect(c)
		if err != nil {
			name := c.name
			if name == "" {
				name = "debian python3"
			}
			d.skipped = append(d.skipped, skipped{name, err.Error()})
			if !strings.HasPrefix(name, "pyenv-") {
				d.missing = append(d.missing, name+": "+err.Error())
			}
			continue
		}
		if strings.HasPrefix(in.Name, "pyenv-") {
			pyenvMinors[in.Minor] = true
		}
		if c.debugDir != "" && in.DebugDir == "" {
			// Usable, but the native-stack and layout tests need its debug files.
			d.missing = append(d.missing, in.Name+" debug files: not installed: run scripts/install-test-deps.sh")
		}
		d.interps = append(d.interps, in)
	}

	if pyenvThere {
		for m := pyenvFirstMinor; m <= pyenvLastMinor; m++ {
			if !pyenvMinors[m] {
				d.missing = append(d.missing, fmt.Sprintf("pyenv 3.%d: no working 3.%d.x under %s/versions", m, m, root))
			}
		}
	}
	sort.SliceStable(d.interps, func(a, b int) bool { return d.interps[a].Minor < d.interps[b].Minor })
	return d
}

// pyenvRoot is `pyenv root`, else $PYENV_ROOT, else ~/.pyenv.
func pyenvRoot() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "pyenv", "root").Output(); err == nil {
		if r := strings.TrimSpace(string(out)); r != "" {
			return r
		}
	}
	if r := os.Getenv("PYENV_ROOT"); r != "" {
		return r
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".pyenv")
}

// unstableDir is where scripts/install-test-deps.sh installs Debian unstable's interpreters.
func unstableDir() (string, error) {
	if d := os.Getenv("PYHANG_UNSTABLE_DIR"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "debian-unstable"), nil
}

// RepoRoot is the directory holding go.mod, found upwards from the working directory
// (go test runs each package in its own directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 64 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("no go.mod above the working directory")
}

// inspect runs the candidate for its version and finds the ELF file that holds _PyRuntime.
func inspect(c candidate) (Interp, error) {
	in := Interp{Name: c.name, Cmd: c.cmd, Exe: c.exe}
	if st, err := os.Stat(filepath.Join(c.debugDir, ".build-id")); c.debugDir != "" && err == nil && st.IsDir() {
		in.DebugDir = c.debugDir
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := in.Command(ctx, "-c", `import sys; print("%d.%d.%d" % sys.version_info[:3])`).CombinedOutput()
	if err != nil {
		return in, fmt.Errorf("running %s: %w: %s", strings.Join(c.cmd, " "), err, bytesTail(out, 300))
	}
	in.Version = strings.TrimSpace(string(out))
	m := releaseName.FindStringSubmatch(in.Version)
	if m == nil {
		return in, fmt.Errorf("%s printed version %q", c.cmd[0], in.Version)
	}
	in.Minor, _ = strconv.Atoi(m[2])
	if m[1] != "3" || in.Minor < 8 {
		return in, fmt.Errorf("version %s is older than 3.8", in.Version)
	}
	if in.Name == "" {
		in.Name = fmt.Sprintf("debian-3.%d", in.Minor)
	}
	if err := inspectELF(&in, c.exe); err != nil {
		return in, err
	}
	return in, nil
}

// inspectELF sets Binary, Static and DWARF: a shared build's executable names
// libpython3.X.so in DT_NEEDED, found through its RUNPATH/RPATH or ../lib.
func inspectELF(in *Interp, exe string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading ELF %s: panic: %v", exe, r)
		}
	}()
	f, err := elf.Open(exe)
	if err != nil {
		return fmt.Errorf("reading ELF %s: %w", exe, err)
	}
	defer f.Close()
	libs, _ := f.ImportedLibraries()
	in.Binary, in.Static = exe, true
	for _, lib := range libs {
		if !strings.HasPrefix(lib, "libpython3") {
			continue
		}
		var dirs []string
		for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
			vals, _ := f.DynString(tag)
			for _, v := range vals {
				dirs = append(dirs, filepath.SplitList(strings.ReplaceAll(v, "$ORIGIN", filepath.Dir(exe)))...)
			}
		}
		dirs = append(dirs, filepath.Join(filepath.Dir(exe), "..", "lib"))
		in.Binary, in.Static = "", false
		for _, d := range dirs {
			if p := filepath.Join(d, lib); fileExists(p) {
				in.Binary = filepath.Clean(p)
				break
			}
		}
		if in.Binary == "" {
			return fmt.Errorf("%s needs %s, not found in %v", exe, lib, dirs)
		}
	}
	return checkRuntime(in)
}

// checkRuntime verifies Binary exports _PyRuntime, which is how pyhang finds the
// interpreter in a process, and records whether it carries DWARF.
func checkRuntime(in *Interp) error {
	f, err := elf.Open(in.Binary)
	if err != nil {
		return fmt.Errorf("reading ELF %s: %w", in.Binary, err)
	}
	defer f.Close()
	in.DWARF = f.Section(".debug_info") != nil
	syms, err := f.DynamicSymbols()
	if err != nil {
		return fmt.Errorf("reading .dynsym of %s: %w", in.Binary, err)
	}
	for _, s := range syms {
		if s.Name == "_PyRuntime" {
			return nil
		}
	}
	return fmt.Errorf("%s does not export _PyRuntime", in.Binary)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// bytesTail is the last n bytes of b, for error messages.
func bytesTail(b []byte, n int) string {
	if len(b) > n {
		b = append([]byte("…"), b[len(b)-n:]...)
	}
	return strings.TrimSpace(string(b))
}
