package resources

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ward-fhir/ward/search"
	"github.com/ward-fhir/ward/storage"
)

// bundleProcess holds the settings that every entry of one batch or
// transaction shares.
type bundleProcess struct {
	api       *API
	prefer    string // Prefer: return=
	strict    bool   // Prefer: handling=strict, for searches
	requestID string

	// at is the lastUpdated of every version the Bundle writes, unless a
	// resource's current version is later (see notBefore).
	at time.Time

	// readBytes counts the resource bytes that the Bundle's GET entries
	// have put in the response so far (see maxBundleReadBytes).
	readBytes int64
}

// maxBundleReadBytes caps what the GET entries of one Bundle may return
// in all. Each search entry is bounded by _count and the include cap, but
// a Bundle may hold thousands of them, and the response is built in
// memory.
const maxBundleReadBytes = 64 << 20

// chargeRead adds n bytes to the Bundle's reads, failing the entry once
// the Bundle is over maxBundleReadBytes.
func (p *bundleProcess) chargeRead(n int) error {
	p.readBytes += int64(n)
	if p.readBytes > maxBundleReadBytes {
		return newAPIError(http.StatusBadRequest, "too-costly", nil,
			"the GET entries of this Bundle return more than %d MiB in all; split the Bundle or narrow its searches", maxBundleReadBytes>>20)
	}
	return nil
}

// entryFailure is an entry's error inside a transaction, which ends it.
type entryFailure struct {
	entry *entry
	err   error
}

func (f *entryFailure) Error() string { return f.entry.describe() + ": " + f.err.Error() }
func (f *entryFailure) Unwrap() error { return f.err }

// transaction processes a transaction Bundle in one storage Transaction:
// every entry succeeds and all writes commit together, index entries
// included, or the first failure rolls all of them back and is returned
// as an OperationOutcome that names the entry.
func (p *bundleProcess) transaction(ctx context.Context, entries []*entry) (map[string]any, error) {
	err := p.api.transact(ctx, true, func(tx storage.Tx) error {
		r := p.newRun(ctx, tx, true)
		return r.transaction(entries)
	})
	if err != nil {
		var failed *entryFailure
		if !errors.As(err, &failed) {
			return nil, err
		}
		if api, ok := failed.entry.apiError(failed.err); ok {
			return nil, api
		}
		return nil, failed
	}
	return p.response("transaction-response", entries), nil
}

// batch processes each entry of a batch Bundle on its own, in the same
// order as a transaction. Each entry runs in its own storage Transaction
// when the backend has them, so a conditional entry is atomic. A failed
// entry reports its failure in its response and leaves the others be.
func (p *bundleProcess) batch(ctx context.Context, entries []*entry) map[string]any {
	_, canTransact := p.api.store.(storage.Transactor)
	fullURLs := map[string]bool{}
	for _, e := range entries {
		if e.fullURL != "" {
			fullURLs[e.fullURL] = true
		}
	}

	for _, e := range processingOrder(entries) {
		if e.failure == nil {
			atomic := canTransact || e.conditional()
			err := p.api.transact(ctx, atomic, func(tx storage.Tx) error {
				r := p.newRun(ctx, tx, false)
				r.batchURLs = fullURLs
				return r.one(e)
			})
			if err != nil {
				var failed *entryFailure
				if errors.As(err, &failed) {
					err = failed.err
				}
				e.fail(err)
			}
		}
		if e.internal != nil {
			p.api.log.Error("batch entry failed", "request_id", p.requestID, "entry", e.index, "error", e.internal)
		}
	}
	return p.response("batch-response", entries)
}

// conditional reports whether the entry searches before it writes.
func (e *entry) conditional() bool {
	return e.criteria != "" || e.ifNoneExist != ""
}

// processingOrder returns the entries in the order R4 sets for a
// transaction: DELETE, then POST, then PUT and PATCH, then GET and HEAD,
// each group in Bundle order.
func processingOrder(entries []*entry) []*entry {
	rank := func(e *entry) int {
		switch e.method {
		case http.MethodDelete:
			return 0
		case http.MethodPost:
			return 1
		case http.MethodPut, http.MethodPatch:
			return 2
		default:
			return 3
		}
	}
	order := slices.Clone(entries)
	slices.SortStableFunc(order, func(x, y *entry) int { return rank(x) - rank(y) })
	return order
}

// run processes entries on one storage.Tx: all entries of a transaction,
// or one entry of a batch.
type run struct {
	*bundleProcess
	ctx           context.Context
	tx            storage.Tx
	inTransaction bool

	// links maps the fullUrl of each entry of a transaction that writes a
	// resource to that resource.
	links map[string]storage.Ref

	// batchURLs are the fullUrls of a batch's entries, which another entry
	// of the batch must not refer to.
	batchURLs map[string]bool

	// owners maps each resource that an entry acts on to that entry, so
	// that no two entries of a transaction act on one resource.
	owners map[storage.Ref]*entry

	// resolved caches the matches of conditional references.
	resolved map[string]storage.Ref
}

func (p *bundleProcess) newRun(ctx context.Context, tx storage.Tx, transaction bool) *run {
	return &run{
		bundleProcess: p,
		ctx:           ctx,
		tx:            tx,
		inTransaction: transaction,
		links:         map[string]storage.Ref{},
		owners:        map[storage.Ref]*entry{},
		resolved:      map[string]storage.Ref{},
	}
}

// transaction runs every entry in R4's order. Ids are assigned, and
// conditional creates and updates resolved, before any resource is
// written, so that references between entries can be rewritten whatever
// order they appear in.
func (r *run) transaction(entries []*entry) error {
	order := processingOrder(entries)

	// Entries that name their resource by id claim it before any step
	// runs, so that a DELETE and a PUT of one resource are reported as
	// the overlap R4 forbids, not as the outcome of whichever ran first.
	for _, e := range order {
		if e.criteria != "" || e.id == "" {
			continue
		}
		switch e.method {
		case http.MethodDelete, http.MethodPut, http.MethodPatch:
			if other, ok := r.owners[storage.Ref{Type: e.resourceType, ID: e.id}]; ok && other != e {
				return &entryFailure{entry: e, err: badRequest("Bundle.entry[%d] acts on %s/%s too; a transaction may act on each resource only once", other.index, e.resourceType, e.id)}
			}
			r.owners[storage.Ref{Type: e.resourceType, ID: e.id}] = e
		}
	}

	steps := []struct {
		methods []string
		step    func(*entry) error
	}{
		{[]string{http.MethodDelete}, r.delete},
		{[]string{http.MethodPost, http.MethodPut, http.MethodPatch}, r.identify},
		{[]string{http.MethodPost, http.MethodPut}, r.rewrite},
		{[]string{http.MethodPost, http.MethodPut, http.MethodPatch}, r.write},
		{[]string{http.MethodGet, http.MethodHead}, r.read},
	}
	for _, s := range steps {
		for _, e := range order {
			if !slices.Contains(s.methods, e.method) {
				continue
			}
			if err := s.step(e); err != nil {
				return &entryFailure{entry: e, err: err}
			}
		}
	}
	return nil
}

// one runs every step of a single batch entry.
func (r *run) one(e *entry) error {
	var err error
	switch e.method {
	case http.MethodDelete:
		err = r.delete(e)
	case http.MethodGet, http.MethodHead:
		err = r.read(e)
	default:
		err = r.identify(e)
		if err == nil {
			err = r.rewrite(e)
		}
		if err == nil {
			err = r.write(e)
		}
	}
	if err != nil {
		return &entryFailure{entry: e, err: err}
	}
	return nil
}

// claim records that e acts on ref, and fails when another entry of the
// transaction already does, as R4 requires.
func (r *run) claim(e *entry, ref storage.Ref) error {
	if other, ok := r.owners[ref]; ok && other != e {
		return badRequest("Bundle.entry[%d] acts on %s/%s too; a transaction may act on each resource only once", other.index, ref.Type, ref.ID)
	}
	r.owners[ref] = e
	e.target = ref
	return nil
}

func (r *run) delete(e *entry) error {
	if e.criteria == "" {
		if err := r.claim(e, storage.Ref{Type: e.resourceType, ID: e.id}); err != nil {
			return err
		}
		result, err := r.api.deleteResource(r.ctx, r.tx, e.resourceType, e.id, e.ifMatch, r.at)
		e.result = result
		return err
	}

	result, ref, err := r.api.deleteByCriteria(r.ctx, r.tx, e.resourceType, e.criteria, e.ifMatch, r.at)
	if err != nil {
		return err
	}
	e.result = result
	if ref.ID != "" {
		return r.claim(e, ref)
	}
	return nil
}

// identify settles which resource a POST, PUT or PATCH acts on: a new id
// for a create, the match of a conditional create, update or patch, or
// the id in the url.
func (r *run) identify(e *entry) error {
	ref := storage.Ref{Type: e.resourceType}
	var err error
	switch {
	case e.method == http.MethodPost && e.ifNoneExist != "":
		existing, found, err := r.api.matchForCreate(r.ctx, r.tx, e.resourceType, e.ifNoneExist)
		if err != nil {
			return err
		}
		ref.ID = uuid.NewString()
		if found {
			e.matched, e.result, ref.ID = true, matchedResult(existing), existing.ID
		}
	case e.method == http.MethodPost:
		ref.ID = uuid.NewString()
	case e.criteria != "" && e.method == http.MethodPut:
		ref.ID, err = r.api.updateTarget(r.ctx, r.tx, e.resourceType, e.criteria, e.resource.ID)
	case e.criteria != "":
		ref.ID, err = r.api.patchTarget(r.ctx, r.tx, e.resourceType, e.criteria)
	default:
		ref.ID = e.id
	}
	if err != nil {
		return err
	}
	if err := r.claim(e, ref); err != nil {
		return err
	}
	if r.inTransaction && e.fullURL != "" {
		r.links[e.fullURL] = ref
	}
	return nil
}

// rewrite replaces, in the entry's resource, the links to other entries'
// fullUrls with the resources those entries write, and resolves
// conditional references.
func (r *run) rewrite(e *entry) error {
	if e.resource == nil || e.matched {
		return nil
	}
	return rewriteLinks(e.resource.Object, r.rewriteLink)
}

func (r *run) rewriteLink(l link) (string, bool, error) {
	if ref, ok := r.links[l.value]; ok {
		if l.kind != linkReference {
			return r.api.resourceURL(ref.Type, ref.ID), true, nil
		}
		if !allowsTarget(l.targets, ref.Type) {
			return "", false, newAPIError(http.StatusBadRequest, "invalid", nil,
				"the reference %q resolves to %s/%s, but the element may refer only to %v", l.value, ref.Type, ref.ID, l.targets)
		}
		return ref.Type + "/" + ref.ID, true, nil
	}
	if l.kind != linkReference {
		return "", false, nil
	}
	if r.batchURLs[l.value] {
		return "", false, badRequest("the reference %q names the fullUrl of an entry of this batch; batch entries are processed independently, so send entries that refer to each other as a transaction", l.value)
	}
	if strings.HasPrefix(l.value, "urn:uuid:") || strings.HasPrefix(l.value, "urn:oid:") {
		// A urn: reference is a placeholder for an entry of this Bundle;
		// stored as written it could never be resolved.
		return "", false, badRequest("the reference %q names no entry of this Bundle; a urn:uuid or urn:oid reference must match the fullUrl of an entry that creates or updates a resource", l.value)
	}
	resourceType, criteria, ok := conditionalReference(l.value)
	if !ok {
		return "", false, nil
	}
	ref, err := r.resolveConditional(l.value, resourceType, criteria)
	if err != nil {
		return "", false, err
	}
	if !allowsTarget(l.targets, ref.Type) {
		return "", false, newAPIError(http.StatusBadRequest, "invalid", nil,
			"the conditional reference %q names a %s, but the element may refer only to %v", l.value, ref.Type, l.targets)
	}
	return ref.Type + "/" + ref.ID, true, nil
}

// resolveConditional finds the one resource that a conditional reference
// such as "Patient?identifier=http://hospital.example/mrn|12345" matches.
func (r *run) resolveConditional(reference, resourceType, criteria string) (storage.Ref, error) {
	if ref, ok := r.resolved[reference]; ok {
		return ref, nil
	}
	matches, err := r.api.match(r.ctx, r.tx, resourceType, criteria)
	if err != nil {
		return storage.Ref{}, err
	}
	switch len(matches) {
	case 0:
		return storage.Ref{}, preconditionFailed("the conditional reference %q matches no %s", reference, resourceType)
	case 1:
	default:
		return storage.Ref{}, preconditionFailed("the conditional reference %q matches more than one %s; make its criteria select exactly one", reference, resourceType)
	}
	ref := storage.Ref{Type: resourceType, ID: matches[0].ID}
	r.resolved[reference] = ref
	return ref, nil
}

func (r *run) write(e *entry) error {
	var err error
	switch e.method {
	case http.MethodPost:
		if e.matched {
			return nil
		}
		e.result, err = r.api.createResource(r.ctx, r.tx, e.resourceType, e.target.ID, e.resource.Object, r.at)
	case http.MethodPut:
		e.result, err = r.api.updateResource(r.ctx, r.tx, e.resourceType, e.target.ID, e.resource.Object, e.ifMatch, r.at)
	case http.MethodPatch:
		e.result, err = r.api.patchResource(r.ctx, r.tx, e.resourceType, e.target.ID, e.patch, e.ifMatch, r.at)
	}
	return err
}

// read serves a GET or HEAD entry: a read, a vread or a search. In a
// transaction it runs after every write, so it reads their results.
func (r *run) read(e *entry) error {
	if e.search {
		return r.searchEntry(e)
	}

	version, err := r.readVersion(e)
	switch {
	case errors.Is(err, storage.ErrGone):
		return newAPIError(http.StatusGone, "deleted", nil, "%s/%s was deleted in version %d", e.resourceType, e.id, version.VersionID)
	case errors.Is(err, storage.ErrNotFound) && e.version != 0:
		return notFound("%s/%s has no version %d", e.resourceType, e.id, e.version)
	case errors.Is(err, storage.ErrNotFound):
		return notFound("%s/%s is not known", e.resourceType, e.id)
	case err != nil:
		return err
	}

	if err := r.chargeRead(len(version.JSON)); err != nil {
		return err
	}
	e.result = writeResult{status: http.StatusOK, version: version}
	header := http.Header{}
	if e.ifNoneMatch != "" {
		header.Set("If-None-Match", e.ifNoneMatch)
	}
	if e.ifModifiedSince != "" {
		header.Set("If-Modified-Since", e.ifModifiedSince)
	}
	if notModified(&http.Request{Header: header}, version) {
		e.result.status = http.StatusNotModified
		e.notModified = true
	}
	return nil
}

func (r *run) readVersion(e *entry) (storage.Resource, error) {
	current, err := r.tx.Read(r.ctx, e.resourceType, e.id)
	if e.version == 0 {
		return current, err
	}
	if (err == nil || errors.Is(err, storage.ErrGone)) && current.VersionID == e.version {
		return current, err
	}
	// Versions other than the current one were committed before this
	// transaction began and never change, so the Backend has them.
	return r.api.store.ReadVersion(r.ctx, e.resourceType, e.id, e.version)
}

func (r *run) searchEntry(e *entry) error {
	var types []string
	path := ""
	if e.resourceType != "" {
		types = []string{e.resourceType}
		path = "/" + e.resourceType
	}
	plan, err := search.Parse(types, e.params, search.Options{
		BaseURL:       r.api.base,
		MaxChainDepth: r.api.cfg.MaxChainDepth,
		DefaultCount:  r.api.cfg.DefaultCount,
		MaxCount:      r.api.cfg.MaxCount,
		Strict:        r.strict,
	})
	if err != nil {
		return searchError(err)
	}
	runner := &search.Runner{Store: txSearcher{r.tx}, Indexer: r.api.indexer, MaxIncluded: r.api.cfg.MaxIncluded}
	result, err := runner.Run(r.ctx, plan)
	if err != nil {
		return searchError(err)
	}
	bundle, err := r.api.searchBundle(plan, result)
	if err != nil {
		return err
	}
	size := 0
	for _, group := range [][]storage.Resource{result.Page.Matches, result.Included} {
		for _, res := range group {
			size += len(res.JSON)
		}
	}
	if err := r.chargeRead(size); err != nil {
		return err
	}
	bundle["link"] = r.api.pageLinks(path, plan.Applied, plan.Query.Cursor, result.Page.NextCursor, result.Page.PrevCursor)
	e.result = writeResult{status: http.StatusOK}
	e.searchset = bundle
	return nil
}

// txSearcher lets search.Runner search through a storage.Tx, so that a
// search in a transaction finds the transaction's writes.
type txSearcher struct {
	tx storage.Tx
}

func (s txSearcher) Search(ctx context.Context, q storage.Query) (storage.SearchPage, error) {
	return s.tx.Search(ctx, q)
}

// ReadMany reads the resources one by one, since storage.Tx has no bulk
// read; it serves _include and _revinclude, which a page caps.
func (s txSearcher) ReadMany(ctx context.Context, refs []storage.Ref) ([]storage.Resource, error) {
	var found []storage.Resource
	for _, ref := range refs {
		r, err := s.tx.Read(ctx, ref.Type, ref.ID)
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrGone) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", ref.Type, ref.ID, err)
		}
		found = append(found, r)
	}
	return found, nil
}
