// Package childproc starts child processes that must not outlive their
// parent (exec.Cmd with SysProcAttr.Pdeathsig) from one OS thread that never
// ends.
//
// Linux sends the parent-death signal when the *thread* that forked the
// child ends, not the process (go.dev/issue/27505). A child started from an
// arbitrary goroutine can therefore be signalled midway when the Go runtime
// retires that thread: embedded ClickHouse shards were seen stopping at once
// in the middle of a test. Starting every such child here avoids it.
package childproc

import (
	"os/exec"
	"runtime"
)

var requests = make(chan func())

func init() {
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the process
		for f := range requests {
			f()
		}
	}()
}

// Start starts cmd (cmd.Start) on the long-lived thread.
func Start(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	requests <- func() { done <- cmd.Start() }
	return <-done
}
