package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/sqlite"
)

// Environment of the child process of TestCrashMidTransaction: the data
// directory, the batch to start at, and the batch during which the child
// stops halfway and waits to be killed (-1 for none).
const (
	txChildDirEnv   = "WARD_SQLITE_TX_CRASH_DIR"
	txChildStartEnv = "WARD_SQLITE_TX_CRASH_START"
	txChildHoldEnv  = "WARD_SQLITE_TX_CRASH_HOLD"
)

// Bounds of the transaction crash test. Each batch is one transaction of
// writesPerBatch creates; a child stops by itself after maxBatches or
// childMaxRunningTime.
const (
	writesPerBatch  = 20
	maxBatches      = 10_000
	batchesToCommit = 5
)

func batchID(batch, i int) string { return fmt.Sprintf("b%d-%02d", batch, i) }

// TestCrashMidTransaction kills a child process with SIGKILL while it is
// inside a transaction of many writes, reopens the database and checks
// that each transaction is there whole or not at all, index entries
// included. Round one kills the child while it holds a transaction open
// halfway through its writes. Round two kills it at whatever point it has
// reached after some commits, which may be during a commit.
func TestCrashMidTransaction(t *testing.T) {
	if dir := os.Getenv(txChildDirEnv); dir != "" {
		runTxCrashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("crash test starts child processes; skipped in -short mode")
	}
	dir := t.TempDir()

	// Round one: batches 0..4 commit, batch 5 stops halfway.
	acked, held := runTxChild(t, dir, 0, batchesToCommit)
	if held != batchesToCommit {
		t.Fatalf("round one: child held batch %d, want %d", held, batchesToCommit)
	}
	// Round two: from batch 100, killed after some commits.
	acked2, _ := runTxChild(t, dir, 100, -1)
	acked = append(acked, acked2...)

	s := openStore(t, dir)
	defer s.Close()
	ctx := context.Background()

	committed := map[int]bool{}
	for _, batch := range acked {
		committed[batch] = true
	}
	// Check every batch either round may have started: the acknowledged
	// ones, the held one, and the ones just after each round's last
	// acknowledgement.
	for batch := range batchesToCommit + 1 {
		checkBatch(ctx, t, s, batch, committed[batch], batch == held)
	}
	for batch := 100; batch <= acked2[len(acked2)-1]+2; batch++ {
		checkBatch(ctx, t, s, batch, committed[batch], false)
	}
}

// checkBatch checks that batch is stored whole or not at all, by reads and
// by its index entries; mustExist and mustBeAbsent narrow that to one.
func checkBatch(ctx context.Context, t *testing.T, s *sqlite.Store, batch int, mustExist, mustBeAbsent bool) {
	t.Helper()
	found := 0
	for i := range writesPerBatch {
		_, err := s.Read(ctx, "Patient", batchID(batch, i))
		switch {
		case err == nil:
			found++
		case !errors.Is(err, storage.ErrNotFound):
			t.Errorf("Read Patient/%s: %v", batchID(batch, i), err)
		}
	}
	page, err := s.Search(ctx, storage.Query{Types: []string{"Patient"}, Count: 100, Total: storage.TotalAccurate,
		Filter: []storage.Clause{{Param: "batch", Type: storage.TypeToken,
			Values: []storage.Value{{Prefix: "eq", Code: strconv.Itoa(batch), AnySystem: true}}}}})
	if err != nil {
		t.Fatalf("Search batch %d: %v", batch, err)
	}

	switch {
	case found != 0 && found != writesPerBatch:
		t.Errorf("batch %d: %d of %d resources survived, want all or none", batch, found, writesPerBatch)
	case page.Total != found:
		t.Errorf("batch %d: %d resources but %d found by their index entries", batch, found, page.Total)
	case mustExist && found == 0:
		t.Errorf("batch %d was acknowledged but is missing", batch)
	case mustBeAbsent && found != 0:
		t.Errorf("batch %d was killed halfway but is stored", batch)
	}
}

// runTxChild starts a child at batch start and kills it: once it prints
// that it holds batch hold open, or, with hold -1, after batchesToCommit
// acknowledgements. It returns the acknowledged batches and the held one.
func runTxChild(t *testing.T, dir string, start, hold int) (acked []int, held int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashMidTransaction$", "-test.count=1")
	cmd.Env = append(os.Environ(), txChildDirEnv+"="+dir, txChildStartEnv+"="+strconv.Itoa(start), txChildHoldEnv+"="+strconv.Itoa(hold))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	guard := time.AfterFunc(childMaxRunningTime, func() { cmd.Process.Kill() })
	defer guard.Stop()

	held = -1
	killed := false
	kill := func() {
		if killed {
			return
		}
		// Kill sends SIGKILL: no deferred rollback or close runs.
		if err := cmd.Process.Kill(); err != nil {
			t.Fatalf("kill child: %v", err)
		}
		killed = true
	}
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		var batch int
		if _, err := fmt.Sscanf(scanner.Text(), "commit %d", &batch); err == nil {
			acked = append(acked, batch)
			if hold < 0 && len(acked) == batchesToCommit {
				kill()
			}
			continue
		}
		if _, err := fmt.Sscanf(scanner.Text(), "holding %d", &batch); err == nil {
			held = batch
			kill()
		}
	}
	err = cmd.Wait()

	if !killed {
		t.Fatalf("child exited before the kill, after batches %v: %v\n%s", acked, err, stderr.String())
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ProcessState.ExitCode() != -1 {
		t.Fatalf("child ended with %v, want death by signal\n%s", err, stderr.String())
	}
	if len(acked) == 0 {
		t.Fatalf("child acknowledged no batches\n%s", stderr.String())
	}
	return acked, held
}

// runTxCrashChild writes batches, each one transaction of writesPerBatch
// creates with a "batch" token entry, and prints "commit <batch>" after
// each commit. In the batch named by txChildHoldEnv it prints
// "holding <batch>" halfway and waits inside the transaction.
func runTxCrashChild(t *testing.T, dir string) {
	ctx := context.Background()
	start, _ := strconv.Atoi(os.Getenv(txChildStartEnv))
	hold, _ := strconv.Atoi(os.Getenv(txChildHoldEnv))
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("child: Open: %v", err)
	}
	defer s.Close()
	deadline := time.Now().Add(childMaxRunningTime)

	for batch := start; batch < start+maxBatches && time.Now().Before(deadline); batch++ {
		err := s.Transaction(ctx, func(tx storage.Tx) error {
			for i := range writesPerBatch {
				id := batchID(batch, i)
				_, err := tx.Write(ctx, storage.Write{Type: "Patient", ID: id, VersionID: 1, LastUpdated: time.Now(),
					Op: storage.OpCreate, JSON: crashBody(id, 1),
					Index: []storage.IndexEntry{{Param: "batch", Type: storage.TypeToken, Code: strconv.Itoa(batch)}}})
				if err != nil {
					return err
				}
				if batch == hold && i == writesPerBatch/2 {
					os.Stdout.WriteString(fmt.Sprintf("holding %d\n", batch))
					time.Sleep(time.Until(deadline))
				}
			}
			return nil
		})
		if err != nil {
			t.Errorf("child: batch %d: %v", batch, err)
			return
		}
		os.Stdout.WriteString(fmt.Sprintf("commit %d\n", batch))
	}
}
