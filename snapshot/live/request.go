package live

// Request is one read of a batch: Buf is filled from Addr, N says how many
// bytes arrived and Err why not all of them did.
type Request struct {
	Addr uint64
	Buf  []byte
	N    int
	Err  error
}
