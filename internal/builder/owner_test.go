package builder_test

import (
	"fmt"
	"os"
	"syscall"
)

func fileOwner(st os.FileInfo) string {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", s.Uid, s.Gid)
	}
	return "?"
}
