package resources_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ward-fhir/ward/fhir"
	"github.com/ward-fhir/ward/resources"
)

func TestDeclaredLengthOverLimitRejectedUnread(t *testing.T) {
	s := newTestServer(t, func(c *resources.Config) {
		c.Limits = fhir.Limits{MaxBytes: 1000, MaxDepth: 32}
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	request := "POST /Patient HTTP/1.1\r\nHost: ward\r\nContent-Type: application/fhir+json\r\n" +
		"Content-Length: 17000000\r\nExpect: 100-continue\r\n\r\n"
	if _, err := conn.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413 before any body byte is sent", resp.StatusCode)
	}
}

func TestGzipRequestBody(t *testing.T) {
	s := newTestServer(t)
	var compressed bytes.Buffer
	w := gzip.NewWriter(&compressed)
	_, _ = w.Write([]byte(patientJSON))
	_ = w.Close()

	created := s.doBytes("POST", "/Patient", compressed.Bytes(), "Content-Encoding", "gzip")
	wantStatus(t, created, http.StatusCreated)
	if created.json(t)["birthDate"] != "1974-12-25" {
		t.Errorf("decoded body lost data: %s", created.body)
	}

	notGzip := s.do("POST", "/Patient", patientJSON, "Content-Encoding", "gzip")
	wantStatus(t, notGzip, http.StatusBadRequest)
	wantOutcome(t, notGzip, "invalid", "")

	brotli := s.do("POST", "/Patient", patientJSON, "Content-Encoding", "br")
	wantStatus(t, brotli, http.StatusUnsupportedMediaType)
	wantOutcome(t, brotli, "not-supported", "")
}

func TestGzipBombCapped(t *testing.T) {
	s := newTestServer(t, func(c *resources.Config) {
		c.Limits = fhir.Limits{MaxBytes: 4096, MaxDepth: 32}
	})
	var compressed bytes.Buffer
	w := gzip.NewWriter(&compressed)
	_, _ = w.Write([]byte(`{"resourceType":"Patient","name":[{"family":"` + strings.Repeat("a", 1<<20) + `"}]}`))
	_ = w.Close()
	if compressed.Len() > 4096 {
		t.Fatalf("the compressed body is %d bytes; the test needs it under the limit", compressed.Len())
	}

	resp := s.doBytes("POST", "/Patient", compressed.Bytes(), "Content-Encoding", "gzip")
	wantStatus(t, resp, http.StatusRequestEntityTooLarge)
	wantOutcome(t, resp, "too-costly", "")
}

func TestPatchGrowthCapped(t *testing.T) {
	s := newTestServer(t, func(c *resources.Config) {
		c.Limits = fhir.Limits{MaxBytes: 100000, MaxDepth: 32}
	})
	id := s.create("Patient", patientJSON)

	ops := []string{`{"op":"add","path":"/x","value":["` + strings.Repeat("a", 1000) + `"]}`}
	for range 30 {
		ops = append(ops, `{"op":"copy","from":"/x","path":"/x/-"}`)
	}
	resp := s.do("PATCH", "/Patient/"+id, "["+strings.Join(ops, ",")+"]", "Content-Type", "application/json-patch+json")

	wantStatus(t, resp, http.StatusUnprocessableEntity)
	wantOutcome(t, resp, "processing", "")
	wantHeader(t, s.do("GET", "/Patient/"+id, ""), "ETag", `W/"1"`)
}

func TestNonCanonicalIDsAndVersions(t *testing.T) {
	s := newTestServer(t)
	id := s.create("Patient", patientJSON)
	tests := []struct {
		method, path string
		headers      []string
		status       int
	}{
		{"GET", "/Patient/" + id + "/_history/01", nil, http.StatusNotFound},
		{"GET", "/Patient/" + id + "/_history/+1", nil, http.StatusNotFound},
		{"GET", "/Patient/%2E%2E", nil, http.StatusBadRequest},
		{"GET", "/Patient/.", nil, http.StatusBadRequest},
		{"DELETE", "/Patient/" + id, []string{"If-Match", `W/"01"`}, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %s", tc.method, tc.path), func(t *testing.T) {
			resp := s.do(tc.method, tc.path, "", tc.headers...)
			wantStatus(t, resp, tc.status)
		})
	}
	wantHeader(t, s.do("GET", "/Patient/"+id, ""), "ETag", `W/"1"`)
}
