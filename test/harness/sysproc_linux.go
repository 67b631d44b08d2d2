package harness

import "syscall"

// sysProcAttr makes the kernel kill a component when the process that started it dies, so that
// no etcd or kube-apiserver outlives a test binary that crashed or was killed before Stop ran.
// Pdeathsig fires when the starting OS thread exits; the Go runtime only retires threads whose
// goroutine called runtime.LockOSThread and exited, which the harness never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
