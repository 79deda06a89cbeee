//go:build !unix

package main

// lockDataDir does nothing on systems without flock: there, two ward
// processes on one data directory are not prevented.
func lockDataDir(dir string) (release func(), err error) {
	return func() {}, nil
}
