package testinterp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInstallDepsMirror runs scripts/install-test-deps.sh against an apt
// configuration of its own (APT_CONFIG) with nothing installed yet and no
// Debian mirror among its sources (one for another distribution, a source
// one, a disabled one): it must stop at once and say so, fetching nothing
// from anywhere. (That it finds a configured mirror, every `make deps` on a
// fresh machine shows.)
func TestInstallDepsMirror(t *testing.T) {
	if _, err := exec.LookPath("gcore"); err != nil {
		// The script would install gdb first, through the apt configured here.
		t.Skip("gdb is not installed: run scripts/install-test-deps.sh first")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "scripts", "install-test-deps.sh")

	run := func(t *testing.T, sources map[string]string) (string, error) {
		dir := t.TempDir()
		etc := filepath.Join(dir, "etc")
		for _, d := range []string{"apt.conf.d", "sources.list.d", "preferences.d", "trusted.gpg.d"} {
			if err := os.MkdirAll(filepath.Join(etc, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, text := range sources {
			if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		conf := filepath.Join(dir, "apt.conf")
		text := `Dir::Etc "` + etc + `/";` + "\n"
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", script)
		cmd.Env = append(os.Environ(), "APT_CONFIG="+conf, "PYHANG_UNSTABLE_DIR="+filepath.Join(dir, "unstable"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if _, err := os.Stat(filepath.Join(dir, "unstable", "root")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the script extracted packages: %v", err)
		}
		return out.String(), err
	}

	out, err := run(t, map[string]string{
		"sources.list": "deb http://archive.invalid/ubuntu noble main\n",
		"sources.list.d/src.sources": "Types: deb-src\nURIs: http://src.invalid/debian\nSuites: sid\nComponents: main\n\n" +
			"Types: deb\nURIs: http://off.invalid/debian\nSuites: sid\nComponents: main\nEnabled: no\n",
	})
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, out)
	}
	if !strings.Contains(out, "ERROR: no Debian mirror is configured for apt") {
		t.Errorf("output does not say that no mirror is configured:\n%s", out)
	}
	if strings.Contains(out, "private apt:") {
		t.Errorf("the script went on without a mirror:\n%s", out)
	}
	t.Logf("%s", strings.TrimSpace(out))
}
