package cpython

import "fmt"

// Version is a CPython version.
type Version struct {
	Major, Minor, Micro int
	Level, Serial       int // release level (0xA alpha, 0xB beta, 0xC rc, 0xF final) and serial
}

// VersionFromHex decodes PY_VERSION_HEX.
func VersionFromHex(h uint64) Version {
	return Version{
		Major: int(h >> 24 & 0xff), Minor: int(h >> 16 & 0xff), Micro: int(h >> 8 & 0xff),
		Level: int(h >> 4 & 0xf), Serial: int(h & 0xf),
	}
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
	switch v.Level {
	case 0xa:
		s += fmt.Sprintf("a%d", v.Serial)
	case 0xb:
		s += fmt.Sprintf("b%d", v.Serial)
	case 0xc:
		s += fmt.Sprintf("rc%d", v.Serial)
	}
	return s
}

// plausible reports whether h looks like a PY_VERSION_HEX of a 3.x release.
func plausibleHex(h uint64) bool {
	v := VersionFromHex(h)
	return h>>32 == 0 && v.Major == 3 && v.Minor <= 40 && v.Micro < 100 &&
		(v.Level == 0xa || v.Level == 0xb || v.Level == 0xc || v.Level == 0xf)
}
