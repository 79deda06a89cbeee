package resources

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// timeoutError is what a connection read returns once the server's
// ReadTimeout has passed.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestReadBodyStatuses(t *testing.T) {
	tests := []struct {
		name   string
		body   io.Reader
		limit  int64
		status int
	}{
		{"over the limit", strings.NewReader(strings.Repeat("x", 20)), 10, http.StatusRequestEntityTooLarge},
		{"slow client", failingReader{timeoutError{}}, 0, http.StatusRequestTimeout},
		{"broken connection", failingReader{io.ErrUnexpectedEOF}, 0, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/Patient", tc.body)
			if tc.limit > 0 {
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tc.limit)
			}
			_, err := readBody(r)
			var api *apiError
			if !errors.As(err, &api) {
				t.Fatalf("error = %v, want an apiError", err)
			}
			if api.status != tc.status {
				t.Errorf("status = %d, want %d", api.status, tc.status)
			}
		})
	}
}
