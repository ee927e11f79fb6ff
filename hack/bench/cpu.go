package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// CPU accounting. On this 2-core machine the registries, the proxies and
// the tool share the cores, so a tool's wall time depends on how much CPU
// it burns itself and how much work its requests cost the registries.
// Both are recorded per sample to tell the two apart.

// userHZ is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const userHZ = 100

// chargeCPU adds the user and system time of the finished cmd to the
// tools' CPU of the current sample.
func (b *bench) chargeCPU(cmd *exec.Cmd) {
	if ps := cmd.ProcessState; ps != nil {
		b.toolCPU.Add(int64(ps.UserTime() + ps.SystemTime()))
	}
}

// cpu is the user plus system time the registry's backend process has used
// so far (all threads). It reads 0 if the process is gone.
func (r *registry) cpu() time.Duration {
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	d, err := processCPU(r.cmd.Process.Pid)
	if err != nil {
		return 0
	}
	return d
}

// processCPU reads utime and stime of pid from /proc/<pid>/stat.
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after its closing parenthesis start with field 3 (state).
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := bytes.Fields(raw[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	var ticks int64
	for _, s := range f[11:13] { // utime and stime: fields 14 and 15
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
