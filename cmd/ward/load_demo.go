package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ward-fhir/ward/loader"
	"github.com/ward-fhir/ward/testdata/hospital"
)

// loadDemo loads the sample hospital into the API through the same
// loader as ward load. A Bundle whose first entry is already stored is
// skipped: each Bundle is a transaction, so it is stored whole or not at
// all, and restarting with --demo does not write new versions.
func loadDemo(ctx context.Context, api http.Handler, baseURL string, logger *slog.Logger) error {
	client := &http.Client{Transport: loader.HandlerTransport{Handler: api}}
	for _, name := range hospital.Files {
		data, err := hospital.FS.ReadFile(name)
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		first, err := firstEntryURL(data)
		if err != nil {
			return fmt.Errorf("demo data %s: %w", name, err)
		}
		stored, err := resourceExists(ctx, client, baseURL, first)
		if err != nil {
			return fmt.Errorf("demo data %s: %w", name, err)
		}
		if stored {
			logger.Info("demo data already loaded", "file", name, "resource", first)
			continue
		}

		l, err := loader.New(loader.Options{Client: client, BaseURL: baseURL, Concurrency: 1})
		if err != nil {
			return err
		}
		summary, err := l.LoadFS(ctx, hospital.FS, name)
		if err != nil {
			return fmt.Errorf("demo data %s: %w", name, err)
		}
		if len(summary.Failures) > 0 {
			return fmt.Errorf("demo data: %w", summary.Failures[0])
		}
		logger.Info("demo data loaded", "file", name, "resources", summary.Total())
	}
	return nil
}

// firstEntryURL returns the request URL of a transaction's first entry,
// such as Organization/kestrel-bay-general.
func firstEntryURL(bundle []byte) (string, error) {
	var doc struct {
		Entry []struct {
			Request struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &doc); err != nil {
		return "", err
	}
	if len(doc.Entry) == 0 || doc.Entry[0].Request.Method != http.MethodPut {
		return "", fmt.Errorf("the first entry must be a PUT to a fixed id")
	}
	return doc.Entry[0].Request.URL, nil
}

func resourceExists(ctx context.Context, client *http.Client, baseURL, typeAndID string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/"+typeAndID, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound, http.StatusGone:
		return false, nil
	}
	return false, fmt.Errorf("read %s: HTTP %d", typeAndID, resp.StatusCode)
}
