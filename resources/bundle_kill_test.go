package resources_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ward-fhir/ward/resources"
	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/sqlite"
)

// Environment of the server process that TestTransactionSurvivesKill
// starts from the test binary.
const (
	killHelperDir   = "WARD_KILL_HELPER_DIR"
	killHelperPause = "WARD_KILL_HELPER_PAUSE_AFTER"
)

// pausingStore is a SQLite store whose transactions stop for good after
// a given number of writes and print "PAUSED", so that the test can kill
// the process while a transaction is half written.
type pausingStore struct {
	*sqlite.Store
	pauseAfter int
}

func (p *pausingStore) Transaction(ctx context.Context, fn func(tx storage.Tx) error) error {
	return p.Store.Transaction(ctx, func(tx storage.Tx) error {
		return fn(&pausingTx{Tx: tx, pauseAfter: p.pauseAfter})
	})
}

type pausingTx struct {
	storage.Tx
	pauseAfter int
	writes     int
}

func (t *pausingTx) Write(ctx context.Context, w storage.Write) (storage.Resource, error) {
	r, err := t.Tx.Write(ctx, w)
	t.writes++
	if t.pauseAfter > 0 && t.writes == t.pauseAfter {
		fmt.Println("PAUSED")
		// The parent kills the process now; the sleep only bounds the
		// helper's life if the parent is gone.
		time.Sleep(5 * time.Minute)
	}
	return r, err
}

// TestKillHelperProcess is the server process of
// TestTransactionSurvivesKill, not a test of its own.
func TestKillHelperProcess(t *testing.T) {
	dir := os.Getenv(killHelperDir)
	if dir == "" {
		t.Skip("runs only as the server process that TestTransactionSurvivesKill starts")
	}
	pauseAfter, _ := strconv.Atoi(os.Getenv(killHelperPause))
	store, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("open SQLite store: %v", err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	api, err := resources.New(resources.Config{
		Backend: &pausingStore{Store: store, pauseAfter: pauseAfter},
		BaseURL: "http://" + listener.Addr().String(),
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("resources.New: %v", err)
	}
	fmt.Println("LISTENING " + listener.Addr().String())
	_ = http.Serve(listener, api)
}

// serverProcess is the test binary running TestKillHelperProcess.
type serverProcess struct {
	cmd   *exec.Cmd
	url   string
	lines chan string
}

// startServerProcess starts a Ward server process over the SQLite store
// in dir and waits until it listens.
func startServerProcess(t *testing.T, dir string, pauseAfter int) *serverProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelperProcess$")
	cmd.Env = append(os.Environ(), killHelperDir+"="+dir, killHelperPause+"="+strconv.Itoa(pauseAfter))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server process: %v", err)
	}
	p := &serverProcess{cmd: cmd, lines: make(chan string, 16)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	go func() {
		defer close(p.lines)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			p.lines <- scanner.Text()
		}
	}()

	addr := strings.TrimPrefix(p.waitFor(t, "LISTENING "), "LISTENING ")
	p.url = "http://" + addr
	return p
}

// waitFor returns the first output line that starts with prefix. The
// deadline only keeps a broken helper from hanging the test.
func (p *serverProcess) waitFor(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("server process exited before printing %q", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-deadline:
			t.Fatalf("server process printed no %q line within 2 minutes", prefix)
		}
	}
}

func (p *serverProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatalf("SIGKILL the server process: %v", err)
	}
	_ = p.cmd.Wait()
}

// bigTransaction returns a transaction of n Patients and one Observation
// for each, which refers to its Patient by urn:uuid; the Patients carry
// the identifier system|prefix-i.
func bigTransaction(n int, prefix string) string {
	var entries []string
	for i := range n {
		urn := fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i)
		entries = append(entries,
			`{"fullUrl":"`+urn+`","resource":`+mrnPatient(fmt.Sprintf("%s-%d", prefix, i))+`,"request":{"method":"POST","url":"Patient"}}`,
			`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"`+urn+`"}},"request":{"method":"POST","url":"Observation"}}`,
		)
	}
	return bundleOf("transaction", entries...)
}

func postTo(url, body string) (int, error) {
	resp, err := http.Post(url+"/", "application/fhir+json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// reopen opens the store in dir again, as a restarted server would, and
// serves it in this process.
func reopen(t *testing.T, dir string) *testServer {
	t.Helper()
	store, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("reopen the SQLite store after the kill: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	var api *resources.API
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.ServeHTTP(w, r) }))
	t.Cleanup(server.Close)
	api, err = resources.New(resources.Config{Backend: store, BaseURL: server.URL, Logger: discardLogger()})
	if err != nil {
		t.Fatalf("resources.New: %v", err)
	}
	return &testServer{t: t, url: server.URL}
}

// TestTransactionSurvivesKill kills a server process with SIGKILL while a
// large transaction is half written, and checks that the reopened store
// has none of it, index entries included. A transaction whose response
// arrived before the kill must be there whole.
func TestTransactionSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	const patients = 200 // 400 writes
	dir := t.TempDir()

	t.Run("killed midway", func(t *testing.T) {
		p := startServerProcess(t, dir, patients)
		if status, err := postTo(p.url, bundleOf("transaction", `{"resource":`+mrnPatient("BEFORE")+`,"request":{"method":"POST","url":"Patient"}}`)); err != nil || status != http.StatusOK {
			t.Fatalf("transaction before the kill: status %d, error %v", status, err)
		}

		done := make(chan error, 1)
		go func() {
			_, err := postTo(p.url, bigTransaction(patients, "HALF"))
			done <- err
		}()
		p.waitFor(t, "PAUSED")
		p.kill(t)
		if err := <-done; err == nil {
			t.Errorf("the killed server answered the transaction")
		}

		s := reopen(t, dir)
		if total := s.historyTotal(); total != 1 {
			t.Errorf("history total after the kill = %d, want 1: only the transaction before it", total)
		}
		if got := s.search("/Patient?" + mrnCriteria + "BEFORE"); len(got) != 1 {
			t.Errorf("search for the Patient written before the kill = %v, want one", got)
		}
		if got := s.search("/Patient?" + mrnCriteria + "HALF-0"); len(got) != 0 {
			t.Errorf("index entries of the killed transaction survived: %v", got)
		}
		if got := s.search("/Observation?code:text=pulse"); len(got) != 0 {
			t.Errorf("Observations of the killed transaction survived: %v", got)
		}
	})

	t.Run("killed after the response", func(t *testing.T) {
		p := startServerProcess(t, dir, 0)
		status, err := postTo(p.url, bigTransaction(patients, "WHOLE"))
		if err != nil || status != http.StatusOK {
			t.Fatalf("transaction: status %d, error %v", status, err)
		}
		p.kill(t)

		s := reopen(t, dir)
		if total := s.historyTotal(); total != 1+2*patients {
			t.Errorf("history total after the kill = %d, want %d", total, 1+2*patients)
		}
		for _, i := range []int{0, patients / 2, patients - 1} {
			if got := s.search(fmt.Sprintf("/Patient?%sWHOLE-%d", mrnCriteria, i)); len(got) != 1 {
				t.Errorf("search for Patient WHOLE-%d = %v, want one", i, got)
			}
		}
		if got := s.search("/Observation?code:text=pulse&_count=1000"); len(got) != patients {
			t.Errorf("found %d Observations, want %d", len(got), patients)
		}
	})
}
