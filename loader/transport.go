package loader

import (
	"net/http"
	"net/http/httptest"
)

// HandlerTransport is an http.RoundTripper that serves each request with
// Handler in the calling goroutine, with no network in between. With it,
// a Loader writes into a server running in the same process through the
// same code as over HTTP.
type HandlerTransport struct {
	Handler http.Handler
}

// RoundTrip serves req and returns the recorded response.
func (t HandlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A handler sees a server-side request, which carries the request
	// line and host as a server would have read them.
	served := req.Clone(req.Context())
	served.RequestURI = req.URL.RequestURI()
	served.Host = req.URL.Host
	served.RemoteAddr = "127.0.0.1:0"
	if served.Body == nil {
		served.Body = http.NoBody
	}

	recorder := httptest.NewRecorder()
	t.Handler.ServeHTTP(recorder, served)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	resp := recorder.Result()
	resp.Request = req
	return resp, nil
}
