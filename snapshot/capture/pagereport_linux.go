//go:build linux

package capture

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// virtioBalloonDir lists the devices the virtio balloon driver runs: a
// virtual machine's channel to its host about the guest's memory.
const virtioBalloonDir = "/sys/bus/virtio/drivers/virtio_balloon"

// reportingOrderFile holds the order (log2 of the pages) of the smallest
// free block the kernel reports to the host.
const reportingOrderFile = "/sys/module/page_reporting/parameters/page_reporting_order"

// hugePageOrder is the order of a huge page: 2 MiB in 4 KiB pages.
const hugePageOrder = 9

// hugePagesReported says whether the host takes back free memory in blocks
// as small as a huge page: free page reporting is on (freePagesReported
// under balloonDir) and the order in orderFile is at most a huge page's.
// Without that file the kernel reports at its default order, a huge page's
// on x86-64.
func hugePagesReported(balloonDir, orderFile string) bool {
	if !freePagesReported(balloonDir) {
		return false
	}
	data, err := os.ReadFile(orderFile)
	if err != nil {
		return true
	}
	order, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return err != nil || order <= hugePageOrder
}

// balloonReporting is the balloon's feature bit for free page reporting
// (VIRTIO_BALLOON_F_REPORTING): the guest tells the host which of its free
// blocks it may take back, and the host backs them again when they are next
// used.
const balloonReporting = 5

// freePagesReported says whether a balloon device under dir (its sysfs
// driver directory) has free page reporting on. A device's "features" file
// holds one '0' or '1' per feature bit, bit 0 first. Sysfs belongs to the
// kernel: nothing here is another user's file.
func freePagesReported(dir string) bool {
	devs, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, d := range devs {
		if !strings.HasPrefix(d.Name(), "virtio") {
			continue // bind, unbind, uevent, module
		}
		bits, err := os.ReadFile(filepath.Join(dir, d.Name(), "features"))
		if err == nil && len(bits) > balloonReporting && bits[balloonReporting] == '1' {
			return true
		}
	}
	return false
}
