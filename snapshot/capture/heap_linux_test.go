//go:build linux

package capture

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The pieces cover the range once, in order; those inside [lo, hi) are
// whole huge pages, the others at most populateChunk and never across lo.
func TestPopulatorPieces(t *testing.T) {
	const base = 0x7f0000000000
	for _, tc := range []struct {
		name       string
		addr, n    uintptr
		lo, hi     uintptr
		wantHuge   int
		wantPieces int
	}{
		{"huge in the middle", base + 40<<10, 5 << 20, base + hugePage, base + 2*hugePage, 1, 63 + 1 + 34}, // 2 MiB-40 KiB, then 1 MiB+40 KiB in 32 KiB
		{"no huge pages", base + 8<<10, 1 << 20, 0, 0, 0, 1 << 20 / populateChunk},
		{"aligned, all huge", base, 2 * hugePage, base, base + 2*hugePage, 2, 2},
	} {
		p := &populator{addr: tc.addr, end: tc.addr + tc.n, lo: tc.lo, hi: tc.hi}
		at, huge, pieces := tc.addr, 0, 0
		for p.addr < p.end {
			addr, n := p.next()
			pieces++
			if addr != at || n == 0 {
				t.Fatalf("%s: piece %d is %#x+%#x, want it at %#x", tc.name, pieces, addr, n, at)
			}
			if addr >= tc.lo && addr < tc.hi {
				if n != hugePage || addr%hugePage != 0 {
					t.Errorf("%s: piece %#x+%#x in the huge part is not one huge page", tc.name, addr, n)
				}
				huge++
			} else if n > populateChunk || (addr < tc.lo && addr+n > tc.lo) {
				t.Errorf("%s: small piece %#x+%#x is too big or crosses %#x", tc.name, addr, n, tc.lo)
			}
			at += n
		}
		if at != tc.addr+tc.n || huge != tc.wantHuge || pieces != tc.wantPieces {
			t.Errorf("%s: ended at %#x (want %#x), %d huge pieces (want %d), %d pieces (want %d)",
				tc.name, at, tc.addr+tc.n, huge, tc.wantHuge, pieces, tc.wantPieces)
		}
	}
}

// lead stops where it was told to, on a piece's boundary, and never past the
// range's end.
func TestPopulatorLead(t *testing.T) {
	const base = hugePage // below the binary, never mapped: populate fails and touches nothing
	p := &populator{addr: base, end: base + 1<<20}
	p.lead(256 << 10)
	if p.addr != base+256<<10 {
		t.Fatalf("after a lead of 256 KiB the populator is at %#x, want %#x", p.addr, base+256<<10)
	}
	p.lead(4 << 20)
	if p.addr != p.end {
		t.Fatalf("after a lead past the end the populator is at %#x, want the end %#x", p.addr, p.end)
	}
}

// A populator whose range starts inside a huge page collapses that page
// first and goes on at lo; when the kernel cannot collapse it, the
// small-page part is populated as before. Both leave nothing of the range
// out.
func TestPopulatorCollapsesItsHead(t *testing.T) {
	const base = hugePage // below the binary, never mapped: the collapse fails
	p := &populator{addr: base + 40<<10, end: base + 2*hugePage, lo: base + hugePage, hi: base + 2*hugePage, head: base}
	if !p.chunk() || p.head != 0 || p.addr != base+40<<10 {
		t.Fatalf("after a failed collapse: head %#x, addr %#x; want 0 and the range's start", p.head, p.addr)
	}

	if mode := thpMode(); strings.Contains(mode, "[never]") || !kernelAtLeast(6, 1) {
		t.Skipf("no collapse here: transparent huge pages %q, kernel %s (MADV_COLLAPSE needs 6.1)", mode, kernelRelease())
	}
	m, err := unix.Mmap(-1, 0, 3*hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	head := (start + hugePage - 1) &^ (hugePage - 1)
	at := int(head - start)
	for i := 0; i < 64; i++ {
		m[at+i*pageSize] = byte(i + 1) // small pages, as the heap's first ones are
	}
	p = &populator{addr: head + 64*pageSize, end: head + hugePage, lo: head + hugePage, hi: head + hugePage, head: head}
	p.chunk()
	if huge := hugeBytesAt(t, head); huge < hugePage {
		t.Fatalf("the mapping holds %d bytes of huge pages after the collapse, want at least %d", huge, hugePage)
	}
	if p.addr != p.lo {
		t.Errorf("after the collapse the populator is at %#x, want lo %#x", p.addr, p.lo)
	}
	for i := 0; i < 64; i++ {
		if m[at+i*pageSize] != byte(i+1) {
			t.Fatalf("page %d of the collapsed huge page holds %d, want %d", i, m[at+i*pageSize], i+1)
		}
	}
}

// hugeBytesAt is the AnonHugePages of the mapping holding addr, in bytes
// (-1 when smaps does not say).
func hugeBytesAt(t *testing.T, addr uintptr) int {
	for _, f := range smapsOf(t, addr) {
		if f[0] == "AnonHugePages:" && len(f) >= 2 {
			kb, _ := strconv.Atoi(f[1])
			return kb << 10
		}
	}
	return -1
}

// advisedHuge says whether the mapping holding addr has MADV_HUGEPAGE
// ("hg" among its VmFlags in /proc/self/smaps).
func advisedHuge(t *testing.T, addr uintptr) bool {
	for _, f := range smapsOf(t, addr) {
		if f[0] == "VmFlags:" {
			return slices.Contains(f[1:], "hg")
		}
	}
	return false
}

// smapsOf returns the fields of each line /proc/self/smaps gives for the
// mapping that holds addr.
func smapsOf(t *testing.T, addr uintptr) [][]string {
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	var out [][]string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(f[0], "-"); ok {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = uint64(addr) >= a && uint64(addr) < b
				continue
			}
		}
		if in {
			out = append(out, f)
		}
	}
	return out
}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// kernelAtLeast says whether the running kernel is at least major.minor.
func kernelAtLeast(major, minor int) bool {
	var a, b int
	if _, err := fmt.Sscanf(kernelRelease(), "%d.%d", &a, &b); err != nil {
		return false
	}
	return a > major || a == major && b >= minor
}

func thpMode() string {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(mode))
}

// The populator asks for huge pages over the whole reserve, and makes only
// the range resident: the rest faults in as huge pages when the snapshot
// overruns the range.
func TestPopulatorAdvisesTheReserve(t *testing.T) {
	if mode := thpMode(); strings.Contains(mode, "[never]") {
		t.Skipf("transparent huge pages are off here (%s)", mode)
	}
	addr := pastHugeBoundary(t)
	p := newPopulator(addr, 2*hugePage, 5*hugePage, true)
	if p.lo == p.hi {
		t.Fatalf("no huge pages asked for (transparent huge pages: %s)", thpMode())
	}
	if p.end != p.hi || p.hi-p.lo != 2*hugePage {
		t.Errorf("the populator makes [%#x, %#x) resident, huge part [%#x, %#x); want two huge pages from %#x",
			p.addr, p.end, p.lo, p.hi, p.lo)
	}
	tail := p.hi + hugePage + 8*pageSize
	if !advisedHuge(t, tail) {
		t.Errorf("the reserve's tail at %#x is not advised for huge pages", tail)
	}
	if past := (addr + 5*hugePage + hugePage) &^ (hugePage - 1); advisedHuge(t, past) {
		t.Errorf("%#x, past the reserve, is advised for huge pages", past)
	}
}

// calibrate touches the chunks it times, and residentAll makes the rest of
// the range resident without touching it: mincore sees every page resident
// once both ran, and the populator left where calibrate stopped.
func TestPopulatorResidentAll(t *testing.T) {
	const size = 1 << 20
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Madvise(mem, unix.MADV_NOHUGEPAGE); err != nil {
		t.Fatal(err)
	}
	addr := uintptr(unsafe.Pointer(&mem[0]))
	p := &populator{addr: addr, end: addr + size}
	made, touched, pages := p.calibrate()
	if want := addr + calibrationChunks*populateChunk; p.addr != want || pages != calibrationChunks*populateChunk/pageSize {
		t.Fatalf("calibrate timed %d pages and left the populator at %#x, want %d pages and %#x", pages, p.addr, calibrationChunks*populateChunk/pageSize, want)
	}
	p.residentAll()
	if p.addr != addr+calibrationChunks*populateChunk {
		t.Errorf("residentAll moved the populator to %#x", p.addr)
	}
	vec := make([]byte, size/pageSize)
	if _, _, errno := unix.RawSyscall(unix.SYS_MINCORE, addr, size, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	missing := 0
	for _, v := range vec {
		if v&1 == 0 {
			missing++
		}
	}
	if missing > 0 {
		if _, _, errno := unix.RawSyscall(unix.SYS_MADVISE, addr, pageSize, unix.MADV_POPULATE_WRITE); errno == unix.EINVAL {
			t.Skipf("MADV_POPULATE_WRITE needs Linux 5.14: %d of %d pages not resident", missing, len(vec))
		}
		t.Errorf("%d of %d pages not resident after residentAll", missing, len(vec))
	}
	t.Logf("making a page resident took %v here, touching it then %v", perPage(made, pages), perPage(touched, pages))
}

// pastHugeBoundary maps 8 huge pages' worth of memory for the test and
// returns the address 4 small pages past its first huge page boundary: room
// for 6 whole huge pages after it. The mapping goes when the test ends.
func pastHugeBoundary(t *testing.T) uintptr {
	m, err := unix.Mmap(-1, 0, 8*hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	start := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	return (start+hugePage-1)&^(hugePage-1) + 4*pageSize
}

// perPage is d over pages, or zero for none.
func perPage(d time.Duration, pages int) time.Duration {
	if pages <= 0 {
		return 0
	}
	return d / time.Duration(pages)
}
