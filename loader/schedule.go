package loader

import (
	"context"
	"io/fs"
	"sync"
)

// loadRank sends every member of the given rank and returns when the
// server has responded to all of them. A producer reads the files in
// order while Options.Concurrency workers send the Bundles; the channel
// between them holds at most that many Bundles, which bounds memory.
func (r *run) loadRank(ctx context.Context, fsys fs.FS, sources []source, ranks map[string]Rank, rank Rank) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	workers := r.loader.opts.Concurrency
	units := make(chan *unit, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for u := range units {
				if ctx.Err() != nil {
					continue // drain, so that the producer never blocks
				}
				if err := r.send(ctx, u); err != nil {
					cancel(err)
				}
			}
		})
	}

	emit := func(u *unit) error {
		select {
		case units <- u:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	produced := r.produce(ctx, fsys, sources, ranks, rank, emit)
	close(units)
	wg.Wait()

	if err := context.Cause(ctx); err != nil {
		return err
	}
	return produced
}

// produce reads the members of one rank, in the order of sources, and
// emits their Bundles.
func (r *run) produce(ctx context.Context, fsys fs.FS, sources []source, ranks map[string]Rank, rank Rank, emit func(*unit) error) error {
	b := &batcher{size: r.loader.opts.BatchSize, emit: emit}
	for _, src := range sources {
		err := eachMember(ctx, fsys, src, func(m member) error {
			if ranks[m.name] != rank {
				return nil
			}
			content, err := m.open()
			if err != nil {
				return err
			}
			defer r.fileDone()
			if m.format == formatNDJSON {
				return r.readNDJSON(m.name, content, b)
			}
			return r.readJSON(m.name, content, b, emit)
		})
		if err != nil {
			return err
		}
	}
	return b.flush()
}
