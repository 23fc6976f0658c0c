package runner

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"
)

// pollInterval is how often a terminating process group is checked. Each
// check may scan /proc, so it is not made tighter.
const pollInterval = 20 * time.Millisecond

// reapWait bounds how long the runner waits, after SIGKILL, for the group's
// members to disappear. SIGKILL cannot be ignored, so only a process stuck
// in uninterruptible sleep can outlast it.
const reapWait = 5 * time.Second

// signalGroup sends sig to every process in the group. ESRCH (group already
// empty) is not an error.
func signalGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
}

// groupAlive reports whether the process group still has a member that is
// not a zombie. Zombies count as dead: they run nothing, and orphaned ones
// are reaped by init on its own schedule (seconds, in some containers), so
// waiting for them would only delay the result.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true // cannot tell; kill(-pgid, 0) said someone is there
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		pg, state, ok := procGroupState(pid)
		if ok && pg == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// procGroupState reads the process group and state of pid from
// /proc/<pid>/stat. The command name is in parentheses and may itself hold
// spaces or ')', so fields are counted from the last ')'.
func procGroupState(pid int) (pgid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	// After ") ": state ppid pgrp ...
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pg, err := strconv.Atoi(string(f[2]))
	if err != nil {
		return 0, 0, false
	}
	return pg, f[0][0], true
}

// terminateGroup runs the SIGTERM → grace → SIGKILL sequence on the whole
// process group and returns once no live member remains (or reapWait after
// SIGKILL has passed).
func terminateGroup(pgid int, grace time.Duration) {
	signalGroup(pgid, syscall.SIGTERM)
	if waitGroupGone(pgid, grace) {
		return
	}
	signalGroup(pgid, syscall.SIGKILL)
	waitGroupGone(pgid, reapWait)
}

// killStragglers SIGKILLs whatever is left in the group after the action's
// main process exited: background children must not outlive the execution
// (they would hold its pipes open and escape its timeout).
func killStragglers(pgid int) {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return
	}
	signalGroup(pgid, syscall.SIGKILL)
	waitGroupGone(pgid, reapWait)
}

// waitGroupGone polls until the group has no live member or d passes, and
// reports whether the group is gone.
func waitGroupGone(pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if !groupAlive(pgid) {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		<-t.C
	}
}
