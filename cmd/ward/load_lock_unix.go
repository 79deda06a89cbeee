//go:build linux || darwin

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ward-fhir/ward/storage/sqlite"
)

// sqliteDeadManSwitch is the offset of the byte in a WAL database's -shm
// file that SQLite's unix VFS read-locks for every open connection. In
// os_unix.c, as compiled into modernc.org/sqlite v1.62.0, it is
// (22+SQLITE_SHM_NLOCK)*4+SQLITE_SHM_NLOCK with SQLITE_SHM_NLOCK = 8, and
// SQLite probes it with F_GETLK in the same way to find other processes.
const sqliteDeadManSwitch = 128

// dataDirInUse reports whether another process has the embedded store in
// dir open, as a running ward serve does. The store itself takes no lock
// of its own, so this checks whether any process holds SQLite's read lock
// on the -shm file. Connections in this process are not seen.
func dataDirInUse(dir string) (bool, error) {
	shm := filepath.Join(dir, sqlite.FileName+"-shm")
	file, err := os.OpenFile(shm, os.O_RDWR, 0) // #nosec G304 -- the -shm file of the operator's own data directory
	if errors.Is(err, fs.ErrNotExist) {
		// SQLite creates the file when the first connection opens, so no
		// process has the database open in WAL mode.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check whether %s is in use: %w", shm, err)
	}
	defer file.Close()

	lock := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: sqliteDeadManSwitch, Len: 1}
	if err := syscall.FcntlFlock(file.Fd(), syscall.F_GETLK, &lock); err != nil {
		return false, fmt.Errorf("check whether %s is in use: %w", shm, err)
	}
	return lock.Type != syscall.F_UNLCK, nil
}
