// Command pyhang tells why a Python process is hung, deadlocked or crashed,
// from a live pid or a core file.
package main

import (
	"os"
)

func main() {
	os.Exit(Execute(os.Args[1:], os.Stdout, os.Stderr))
}
