package loader

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// format is how a file's content is read.
type format int

const (
	formatJSON   format = iota // one JSON value, or NDJSON when several follow
	formatNDJSON               // one resource per line
	formatTar                  // a tar archive of further files
)

// source is one file named on the command line or found in a directory.
type source struct {
	path   string // path in the fsys, also shown in messages
	format format
	gzip   bool
}

// member is a JSON or NDJSON file: a source itself, or a file inside a
// tar archive.
type member struct {
	name   string // shown in messages
	format format
	// open returns the decompressed content; the reader is valid only
	// during the callback that received the member.
	open func() (io.Reader, error)
}

// classifyName returns how a file name is read, and whether the file is
// compressed with gzip. ok is false for names the loader does not read.
func classifyName(name string) (f format, gz bool, ok bool) {
	lower := strings.ToLower(name)
	if strings.HasSuffix(lower, ".tgz") {
		return formatTar, true, true
	}
	if trimmed, found := strings.CutSuffix(lower, ".gz"); found {
		lower, gz = trimmed, true
	}
	switch {
	case strings.HasSuffix(lower, ".json"):
		return formatJSON, gz, true
	case strings.HasSuffix(lower, ".ndjson"), strings.HasSuffix(lower, ".jsonl"):
		return formatNDJSON, gz, true
	case strings.HasSuffix(lower, ".tar"):
		return formatTar, gz, true
	}
	return 0, false, false
}

// listSources expands paths into the files to read, directories walked in
// lexical order. A path named explicitly must be a file the loader reads;
// other files inside a directory are skipped.
func listSources(fsys fs.FS, paths []string) ([]source, error) {
	var sources []source
	for _, p := range paths {
		info, err := fs.Stat(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("loader: %w", err)
		}
		if !info.IsDir() {
			f, gz, ok := classifyName(p)
			if !ok {
				return nil, fmt.Errorf("loader: %s: unsupported file name; expected .json, .ndjson, .jsonl, "+
					"any of them with .gz, .tar, .tar.gz or .tgz", p)
			}
			sources = append(sources, source{path: p, format: f, gzip: gz})
			continue
		}

		err = fs.WalkDir(fsys, p, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if f, gz, ok := classifyName(name); ok && d.Type().IsRegular() {
				sources = append(sources, source{path: name, format: f, gzip: gz})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("loader: walk %s: %w", p, err)
		}
	}
	return sources, nil
}

// eachMember calls fn for every JSON or NDJSON file in src: src itself, or
// the members of a tar archive in archive order. Members of other kinds,
// nested archives included, are skipped.
func eachMember(ctx context.Context, fsys fs.FS, src source, fn func(member) error) error {
	if src.format != formatTar {
		var file fs.File
		var gz *gzip.Reader
		defer func() {
			if gz != nil {
				_ = gz.Close()
			}
			if file != nil {
				_ = file.Close()
			}
		}()
		open := func() (io.Reader, error) {
			var err error
			file, err = fsys.Open(src.path)
			if err != nil {
				return nil, err
			}
			if !src.gzip {
				return file, nil
			}
			gz, err = gzip.NewReader(file)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", src.path, err)
			}
			return gz, nil
		}
		return fn(member{name: src.path, format: src.format, open: open})
	}

	file, err := fsys.Open(src.path)
	if err != nil {
		return err
	}
	defer file.Close()
	var r io.Reader = file
	if src.gzip {
		gz, err := gzip.NewReader(file)
		if err != nil {
			return fmt.Errorf("%s: %w", src.path, err)
		}
		defer gz.Close()
		r = gz
	}

	archive := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		header, err := archive.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: read tar archive: %w", src.path, err)
		}
		if header.Typeflag != tar.TypeReg {
			continue
		}
		f, gz, ok := classifyName(header.Name)
		if !ok || f == formatTar {
			continue
		}
		name := src.path + "/" + strings.TrimPrefix(path.Clean(header.Name), "/")
		open := func() (io.Reader, error) {
			if !gz {
				return archive, nil
			}
			inner, err := gzip.NewReader(archive)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return inner, nil
		}
		if err := fn(member{name: name, format: f, open: open}); err != nil {
			return err
		}
	}
}

// osFS opens paths of the operating system as given, absolute or
// relative to the working directory, which os.DirFS cannot do.
type osFS struct{}

// #nosec G304 -- the loader reads the files and folders that the operator names, by design.
func (osFS) Open(name string) (fs.File, error) { return os.Open(name) }

func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// ReadDir returns the entries sorted by name, as fs.WalkDir expects.
func (osFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
