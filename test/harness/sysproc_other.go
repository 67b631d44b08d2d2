//go:build !linux

package harness

import "syscall"

// sysProcAttr: only Linux has Pdeathsig; elsewhere the components are stopped by Env.Stop alone.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}
