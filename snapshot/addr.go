package snapshot

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Addr is an address in the target's address space. It is a number in the
// model, so that later stages compare and index addresses without parsing
// text, and a "0x…" string in JSON, the way debuggers and people write them.
type Addr uint64

// String is "0x7f…".
func (a Addr) String() string { return "0x" + strconv.FormatUint(uint64(a), 16) }

// MarshalJSON writes the address as a hex string.
func (a Addr) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 20)
	b = append(b, '"', '0', 'x')
	b = strconv.AppendUint(b, uint64(a), 16)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a hex string ("0x7f…") or a plain number.
func (a *Addr) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n uint64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("address %s: want a \"0x…\" string or a number", b)
		}
		*a = Addr(n)
		return nil
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		return fmt.Errorf("address %q: %w", s, err)
	}
	*a = Addr(v)
	return nil
}
