//go:build linux

package capture

import (
	"os"
	"path/filepath"
	"testing"
)

// The features file of a balloon device says whether its host takes back
// free memory; other entries of the driver's directory are not devices.
func TestFreePagesReported(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"reporting", map[string]string{"virtio0/features": "0110010100000000000000000000000010000000\n"}, true},
		{"stats and deflate only", map[string]string{"virtio0/features": "0110000000000000000000000000000010000000\n"}, false},
		{"second device reports", map[string]string{"virtio0/features": "01\n", "virtio3/features": "0000010\n"}, true},
		{"not a device", map[string]string{"uevent": "0000010\n", "module/features": "0000010\n"}, false},
		{"no features file", map[string]string{"virtio0/status": "0x0000000f\n"}, false},
	} {
		dir := t.TempDir()
		for name, body := range tc.files {
			path := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := freePagesReported(dir); got != tc.want {
			t.Errorf("%s: freePagesReported = %v, want %v", tc.name, got, tc.want)
		}
	}
	if freePagesReported(filepath.Join(t.TempDir(), "absent")) {
		t.Error("a machine without the balloon driver reports free pages")
	}
	t.Logf("this machine: free page reporting %v, down to huge pages %v",
		freePagesReported(virtioBalloonDir), hugePagesReported(virtioBalloonDir, reportingOrderFile))
}

// Huge pages are taken back when the host is told of free blocks that small:
// at the reporting order of a huge page or below, or the default order when
// the kernel does not say.
func TestHugePagesReported(t *testing.T) {
	reporting := t.TempDir()
	if err := os.MkdirAll(filepath.Join(reporting, "virtio0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(reporting, "virtio0", "features"), []byte("0110010100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	quiet := t.TempDir()
	for _, tc := range []struct {
		name, balloon, order string
		want                 bool
	}{
		{"order 9", reporting, "9\n", true},
		{"order 11", reporting, "11\n", false},
		{"order unknown", reporting, "", true},
		{"no reporting", quiet, "9\n", false},
	} {
		orderFile := filepath.Join(t.TempDir(), "page_reporting_order")
		if tc.order != "" {
			if err := os.WriteFile(orderFile, []byte(tc.order), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := hugePagesReported(tc.balloon, orderFile); got != tc.want {
			t.Errorf("%s: hugePagesReported = %v, want %v", tc.name, got, tc.want)
		}
	}
}
