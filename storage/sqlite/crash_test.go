package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/sqlite"
)

// crashChildEnv names the data directory when the test binary runs as the
// child process of TestCrashKeepsAcknowledgedWrites.
const crashChildEnv = "WARD_SQLITE_CRASH_CHILD_DIR"

// Bounds of the crash test: each round kills the child after this many
// acknowledged writes, and a child that is never killed stops by itself.
const (
	crashRounds         = 3
	acksBeforeKill      = 150
	childMaxWrites      = 100_000
	childMaxRunningTime = 2 * time.Minute
)

func crashBody(id string, version int64) []byte {
	return fmt.Appendf(nil, `{"resourceType":"Patient","id":%q,"meta":{"versionId":"%d"}}`, id, version)
}

// TestCrashKeepsAcknowledgedWrites kills a writing child process with
// SIGKILL in the middle of its writes, reopens the database, and checks
// that every write the child acknowledged is there. It covers a crash of
// the process, not power loss: the kernel still flushes its page cache
// afterwards, so it cannot show that synchronous=FULL reaches the disk.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		runCrashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("crash test starts child processes; skipped in -short mode")
	}

	dir := t.TempDir()
	acked := map[string]int64{} // id -> highest acknowledged version

	for round := range crashRounds {
		roundAcks := runAndKillChild(t, dir, round)
		for id, v := range roundAcks {
			acked[id] = max(acked[id], v)
		}
	}

	s := openStore(t, dir)
	defer s.Close()
	ctx := context.Background()

	if len(acked) == 0 {
		t.Fatal("the child acknowledged no writes")
	}
	for id, highest := range acked {
		current, err := s.Read(ctx, "Patient", id)
		if err != nil {
			t.Errorf("Read Patient/%s after the crashes: %v", id, err)
			continue
		}
		// The write in flight at the kill may or may not have landed.
		if current.VersionID < highest {
			t.Errorf("Patient/%s: current version %d, want at least the acknowledged %d", id, current.VersionID, highest)
		}
		for v := int64(1); v <= highest; v++ {
			got, err := s.ReadVersion(ctx, "Patient", id, v)
			if err != nil {
				t.Errorf("ReadVersion Patient/%s/_history/%d: %v", id, v, err)
				continue
			}
			if want := crashBody(id, v); !bytes.Equal(got.JSON, want) {
				t.Errorf("Patient/%s/_history/%d: JSON = %s, want %s", id, v, got.JSON, want)
			}
		}
	}
}

// runAndKillChild starts the child on dir, kills it after acksBeforeKill
// acknowledgements, and returns the highest version acknowledged per id.
func runAndKillChild(t *testing.T, dir string, round int) map[string]int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedWrites$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("round %d: stdout pipe: %v", round, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("round %d: start child: %v", round, err)
	}
	// A child that stalls must not hang the test.
	guard := time.AfterFunc(childMaxRunningTime, func() { cmd.Process.Kill() })
	defer guard.Stop()

	acked := map[string]int64{}
	count := 0
	killed := false
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		var id string
		var version int64
		if _, err := fmt.Sscanf(scanner.Text(), "ack %s %d", &id, &version); err != nil {
			continue // output of the test framework
		}
		acked[id] = max(acked[id], version)
		count++
		if count == acksBeforeKill && !killed {
			// Kill sends SIGKILL, so the child gets no chance to clean up.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("round %d: kill child: %v", round, err)
			}
			killed = true
		}
	}
	err = cmd.Wait()

	if !killed {
		t.Fatalf("round %d: child exited after %d acknowledgements, before the kill: %v\n%s", round, count, err, stderr.String())
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ProcessState.ExitCode() != -1 {
		t.Fatalf("round %d: child ended with %v, want death by signal\n%s", round, err, stderr.String())
	}
	return acked
}

// runCrashChild writes new versions of four Patients from two goroutines
// and prints "ack <id> <version>" after each Write returns without error.
// It runs until it is killed, or until its bounds end it.
func runCrashChild(t *testing.T, dir string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("child: Open: %v", err)
	}
	defer s.Close()
	deadline := time.Now().Add(childMaxRunningTime)

	var wg sync.WaitGroup
	for worker := range 2 {
		ids := []string{fmt.Sprintf("c%d", 2*worker), fmt.Sprintf("c%d", 2*worker+1)}
		wg.Go(func() {
			for n := 0; n < childMaxWrites/2 && time.Now().Before(deadline); n++ {
				if err := writeNext(ctx, s, ids[n%2]); err != nil {
					t.Errorf("child: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// writeNext writes the version after the current one of Patient/id and
// acknowledges it on stdout.
func writeNext(ctx context.Context, s *sqlite.Store, id string) error {
	current := storage.Resource{}
	r, err := s.Read(ctx, "Patient", id)
	switch {
	case err == nil:
		current = r
	case !errors.Is(err, storage.ErrNotFound):
		return err
	}

	next := current.VersionID + 1
	op := storage.OpUpdate
	if next == 1 {
		op = storage.OpCreate
	}
	lastUpdated := time.Now()
	if lastUpdated.Before(current.LastUpdated) {
		lastUpdated = current.LastUpdated
	}
	_, err = s.Write(ctx, storage.Write{
		Type: "Patient", ID: id, VersionID: next, ExpectVersion: current.VersionID,
		LastUpdated: lastUpdated, Op: op, JSON: crashBody(id, next),
	})
	if err != nil {
		return err
	}
	// One Write call on os.Stdout per line, so lines from both goroutines
	// never interleave.
	_, err = os.Stdout.WriteString(fmt.Sprintf("ack %s %d\n", id, next))
	return err
}
