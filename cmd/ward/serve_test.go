package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// freeLoopbackAddress returns a loopback address with a port that was free
// a moment ago.
func freeLoopbackAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServeStartsAndStops(t *testing.T) {
	addr := freeLoopbackAddress(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", t.TempDir(), "--shutdown-timeout", "5s"}, &stderr, &stderr)
	}()

	var resp *http.Response
	var err error
	for range 100 {
		resp, err = http.Get("http://" + addr + "/healthz")
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server did not answer /healthz: %v\nlog:\n%s", err, stderr.String())
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz status = %d, want 200", resp.StatusCode)
	}

	resp, err = http.Get("http://" + addr + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/metadata status = %d, want 200", resp.StatusCode)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code = %d, want 0; log:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after its context ended")
	}
	for _, want := range []string{`"msg":"ward started"`, `"msg":"shutting down"`, `"msg":"ward stopped"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, stderr.String())
		}
	}
}

func TestServeRefusesRemoteWithoutAuth(t *testing.T) {
	tests := []struct {
		listen      string
		allowRemote bool
		wantErr     bool
	}{
		{"127.0.0.1:8080", false, false},
		{"[::1]:8080", false, false},
		{"localhost:8080", false, false},
		{"0.0.0.0:8080", false, true},
		{":8080", false, true},
		{"192.0.2.10:8080", false, true},
		{"0.0.0.0:8080", true, false},
		{"no-port", false, true},
	}
	for _, tc := range tests {
		err := checkExposure(tc.listen, tc.allowRemote)
		if (err != nil) != tc.wantErr {
			t.Errorf("checkExposure(%q, %v) = %v, want error %v", tc.listen, tc.allowRemote, err, tc.wantErr)
		}
	}
}

func TestServeFlagsFromEnvironment(t *testing.T) {
	t.Setenv("WARD_LISTEN", "127.0.0.1:9999")
	t.Setenv("WARD_DATA_DIR", "/tmp/ward-env")
	t.Setenv("WARD_LOG_FORMAT", "text")
	t.Setenv("WARD_MAX_COUNT", "50")

	cfg, err := parseServeFlags([]string{"--data-dir", "/tmp/ward-flag"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.listen != "127.0.0.1:9999" {
		t.Errorf("listen = %q, want the environment's 127.0.0.1:9999", cfg.listen)
	}
	if cfg.dataDir != "/tmp/ward-flag" {
		t.Errorf("data dir = %q, want the flag's /tmp/ward-flag", cfg.dataDir)
	}
	if cfg.logFormat != "text" {
		t.Errorf("log format = %q, want text", cfg.logFormat)
	}
	if cfg.maxCount != 50 {
		t.Errorf("max count = %d, want 50", cfg.maxCount)
	}
	if cfg.baseURL != "http://127.0.0.1:9999" {
		t.Errorf("base URL = %q, want http://127.0.0.1:9999", cfg.baseURL)
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	tests := [][]string{
		{"--log-level", "loud"},
		{"--log-format", "xml"},
		{"--tls-cert", "cert.pem"},
		{"--max-count", "0"},
		{"extra-argument"},
	}
	for _, args := range tests {
		var stderr bytes.Buffer
		code := run(context.Background(), append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...), &stderr, &stderr)
		if code == 0 {
			t.Errorf("ward serve %v exited 0, want an error", args)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, &stderr, &stderr); code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), `unknown command "frobnicate"`) {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestServeRefusesDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--listen", freeLoopbackAddress(t), "--data-dir", dir}, &stderr, &stderr)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "in use by another ward process") {
		t.Errorf("stderr = %q, want it to say the directory is in use", stderr.String())
	}

	release()
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}
