// pause is the sandbox process of every Pod on the local node: it keeps the
// Pod's namespaces alive, exits promptly on SIGTERM/SIGINT (as PID 1 a process
// without handlers would ignore them and force a SIGKILL timeout), and reaps
// orphans when the Pod shares its PID namespace.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
