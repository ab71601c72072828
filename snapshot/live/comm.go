package live

import (
	"os"
	"strconv"
	"strings"
)

// maxComm bounds a comm file read: the kernel keeps 16 bytes (TASK_COMM_LEN).
const maxComm = 64

// ThreadNames reads the kernel's name (comm) of each of the threads tids of
// pid, as pthread_setname_np or prctl(PR_SET_NAME) set it (the executable's
// name by default). A thread that is gone has no entry. Nothing is stopped:
// names are read after a snapshot has let the target go.
func ThreadNames(pid int, tids []int) map[int]string {
	out := make(map[int]string, len(tids))
	buf := make([]byte, maxComm)
	for _, tid := range tids {
		f, err := os.Open(procPath(pid, "task", strconv.Itoa(tid), "comm"))
		if err != nil {
			continue
		}
		n, _ := f.Read(buf)
		f.Close()
		if n > 0 {
			out[tid] = strings.TrimSuffix(string(buf[:n]), "\n")
		}
	}
	return out
}
