package corefile

import "github.com/pyhang/pyhang/snapshot/target"

// regsOf converts the words of struct user_regs_struct into target.Regs.
func regsOf(w *[27]uint64) *target.Regs {
	return &target.Regs{
		RIP: w[regRIP], RSP: w[regRSP], RBP: w[regRBP], RAX: w[regRAX], OrigRAX: w[regOrigRAX],
		RDI: w[regRDI], RSI: w[regRSI], RDX: w[regRDX], R10: w[regR10], R8: w[regR8], R9: w[regR9],
		RBX: w[regRBX], RCX: w[regRCX], R11: w[regR11], R12: w[regR12], R13: w[regR13], R14: w[regR14], R15: w[regR15],
		FSBase: w[regFSBase],
		EFlags: w[regEFlags], GSBase: w[regGSBase],
		CS: w[regCS], SS: w[regSS], DS: w[regDS], ES: w[regES], FS: w[regFS], GS: w[regGS],
	}
}

// wordsOf is the inverse of regsOf.
func wordsOf(r *target.Regs) [27]uint64 {
	var w [27]uint64
	w[regRIP], w[regRSP], w[regRBP], w[regRAX], w[regOrigRAX] = r.RIP, r.RSP, r.RBP, r.RAX, r.OrigRAX
	w[regRDI], w[regRSI], w[regRDX], w[regR10], w[regR8], w[regR9] = r.RDI, r.RSI, r.RDX, r.R10, r.R8, r.R9
	w[regRBX], w[regRCX], w[regR11], w[regR12], w[regR13], w[regR14], w[regR15] = r.RBX, r.RCX, r.R11, r.R12, r.R13, r.R14, r.R15
	w[regFSBase], w[regEFlags], w[regGSBase] = r.FSBase, r.EFlags, r.GSBase
	w[regCS], w[regSS], w[regDS], w[regES], w[regFS], w[regGS] = r.CS, r.SS, r.DS, r.ES, r.FS, r.GS
	return w
}
