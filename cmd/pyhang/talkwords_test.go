package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// loadStored reads a stored snapshot of the heuristics tests.
func loadStored(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "heuristics", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot.Snapshot
	if err := json.Unmarshal(bytes.ReplaceAll(b, []byte("@REPO@"), []byte(repo)), &s); err != nil {
		t.Fatal(err)
	}
	s.Files = hostFiles{}
	return &s
}

type hostFiles struct{}

func (hostFiles) Text(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// TestTalkWords: the starved-consumers and stuck-io findings say in their
// first sentence what is wrong and what would fix it, then the evidence.
func TestTalkWords(t *testing.T) {
	for _, tc := range []struct {
		snap string
		want []string
	}{
		{"talk_job_queue", []string{
			"1. STARVED-CONSUMERS [error]: starved consumers: 9 threads wait in get() on queue jobs, which is empty, and no thread that could put to it can ever run — put one sentinel per consumer",
			"is empty (0 items, 25 tasks never marked done)",
			`"MainThread" (tid `, "put to it at talk_job_queue.py:39 in main; it is past its last one and waits for thread",
			"ALL-BLOCKED: every one of the 10 threads is blocked as a result",
		}},
		{"starved_handoff", []string{
			"starved consumers: 1 thread waits on condition Mailbox.ready, and no thread that could notify it can ever run",
			`thread "writer" (thread@`,
		}},
		{"talk_http_pool", []string{
			"1. STUCK-IO [warning]: stuck I/O: 5 threads wait to read from sockets that have no timeout; if the peer never answers they wait forever — give the sockets a timeout",
			": recvfrom on fd ", ", no timeout, 127.0.0.1:", "(ESTABLISHED), fetching http://127.0.0.1:",
			"(url in fetch), at talk_http_pool.py:",
			"all 5 threads of the thread pool whose work queue is work_queue (simplequeue@",
			"10 work items wait behind them",
			`"MainThread" (tid `, "which only the stuck threads can end: a consequence, not a problem of its own",
		}},
		{"kernel-core-talk_ctypes_crash", []string{
			"Killed by SIGSEGV (code 1, address 0x28) in thread ",
			"1 problem found:\n\n1. CRASH [error]: crash: SIGSEGV, a NULL pointer dereference (address 0x28) in RSA_size (libcrypto.so.3), through ctypes from talk_ctypes_crash.py:42 in RSAKey.private_encrypt — check the pointers and the argtypes of that call",
			"si_code 1 SEGV_MAPERR: address not mapped, fault address 0x28 — below 4096",
			"it happened in RSA_size+0x4 (libcrypto.so.3), a shared library",
			"native stack: RSA_size (libcrypto.so.3) ← ", " ← _ctypes_callproc (_ctypes.cpython-312-x86_64-linux-gnu.so) ← ",
			"Python stack: talk_ctypes_crash.py:42 in RSAKey.private_encrypt ← talk_ctypes_crash.py:65 in main",
		}},
		{"gil_held_in_native", []string{
			`1. GIL-HELD-IN-NATIVE [error]: GIL held in native code: "blocker" (tid `,
			") holds the GIL while blocked in pause() (libc.so.6) from gil_held_in_native.py:",
			"which has no timeout, so no other thread can run Python (3 threads wait for the GIL) — release the GIL around blocking C calls",
			`"worker-0" (tid `, "wait for the GIL (in a futex on its condition variable)",
			`"MainThread" (tid `, "cannot run Python either once its own wait ends",
			"  holds the GIL\n    evidence: the interpreter's GIL state names this thread as the holder",
		}},
	} {
		t.Run(tc.snap, func(t *testing.T) {
			var out bytes.Buffer
			writeDiagnosis(&out, analyse(loadStored(t, tc.snap)))
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the report does not say %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestTalkWordsEscape: a URL from the target reaches the terminal escaped,
// and the JSON exact.
func TestTalkWordsEscape(t *testing.T) {
	s := loadStored(t, "talk_http_pool")
	hostile := "http://evil/\x1b[2J\x1b]0;pwned\x07"
	for i := range s.Threads {
		for j := range s.Threads[i].Frames {
			if _, ok := s.Threads[i].Frames[j].URLs["url"]; ok {
				s.Threads[i].Frames[j].URLs["url"] = hostile
			}
		}
	}
	an := analyse(s)
	var out bytes.Buffer
	writeDiagnosis(&out, an)
	if strings.ContainsAny(out.String(), "\x1b\x07") {
		t.Errorf("the text report passes terminal escapes through:\n%q", out.String())
	}
	var js bytes.Buffer
	if err := writeJSON(&js, an.report(true)); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Findings []struct {
			Details struct {
				Stuck []struct {
					URL string `json:"url"`
				} `json:"stuck"`
			} `json:"details"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) == 0 || len(back.Findings[0].Details.Stuck) == 0 || back.Findings[0].Details.Stuck[0].URL != hostile {
		t.Errorf("the JSON does not keep the URL exact: %+v", back.Findings)
	}
}

// TestCrashWordsEscape: symbol and file names come from the target's files:
// the text report escapes them, the JSON keeps them exact.
func TestCrashWordsEscape(t *testing.T) {
	s := loadStored(t, "kernel-core-talk_ctypes_crash")
	hostile := "RSA_size\x1b[2J\x1b]0;pwned\x07"
	for i := range s.Threads {
		if len(s.Threads[i].Native) > 0 {
			s.Threads[i].Native[0].Symbol = hostile
			s.Threads[i].Native[0].Module = hostile + ".so"
		}
	}
	an := analyse(s)
	var out bytes.Buffer
	writeDiagnosis(&out, an)
	if strings.ContainsAny(out.String(), "\x1b\x07") || !strings.Contains(out.String(), "CRASH [error]") {
		t.Errorf("the text report passes terminal escapes through:\n%q", out.String())
	}
	var js bytes.Buffer
	if err := writeJSON(&js, an.report(true)); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Findings []struct {
			Details struct {
				Function struct {
					Symbol string `json:"symbol"`
				} `json:"function"`
			} `json:"details"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) == 0 || back.Findings[0].Details.Function.Symbol != hostile {
		t.Errorf("the JSON does not keep the symbol exact: %+v", back.Findings)
	}
}
