package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// encodeJSON writes v as compact JSON without HTML escaping, so FHIRPath
// operators such as '<' stay readable. gzip output has an empty header
// (no name, no time), so the bytes depend only on v and the Go version's
// compress/flate.
func encodeJSON(v any, compress bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	if !compress {
		return buf.Bytes(), nil
	}

	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("create gzip writer: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return nil, fmt.Errorf("compress %T: %w", v, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress %T: %w", v, err)
	}
	return gz.Bytes(), nil
}

// writeFiles writes each file through a temporary name and a rename, so an
// interrupted run never leaves a truncated file behind.
func writeFiles(dir string, files generated) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)

	for _, name := range names {
		path := filepath.Join(dir, name)
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, files[name], 0o644); err != nil { // #nosec G306 -- generated source committed to the repository, meant to be readable by all
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename %s to %s: %w", tmp, path, err)
		}
		fmt.Fprintf(os.Stderr, "gen: wrote %s (%d bytes)\n", path, len(files[name]))
	}
	return nil
}
