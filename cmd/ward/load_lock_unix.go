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

// sqliteDeadManSwitch is the byte of a WAL database's -shm file on which
// every connection of SQLite's unix VFS holds a read lock for as long as
// it is open (UNIX_SHM_DMS in SQLite's os_unix.c: lock bytes start at
// offset 120 and there are 8 of them).
const sqliteDeadManSwitch = 128

// dataDirInUse reports whether another process has the embedded store in
// dir open, as a running ward serve does. The store itself takes no lock
// of its own, so this asks whether any process holds SQLite's read lock
// on the -shm file. Connections in this process are not seen.
func dataDirInUse(dir string) (bool, error) {
	shm := filepath.Join(dir, sqlite.FileName+"-shm")
	file, err := os.OpenFile(shm, os.O_RDWR, 0)
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
