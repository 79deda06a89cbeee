package mongo

import (
	"context"
	"fmt"
	"strings"

	"github.com/ward-fhir/ward/storage"
)

// Read returns the current version of resourceType/id from its current
// document.
func (s *Store) Read(ctx context.Context, resourceType, id string) (storage.Resource, error) {
	if strings.Contains(resourceType, "/") {
		// Such a type can never be written, and its key could name another
		// resource: "A/b" + "c" and "A" + "b/c" share the key "A/b/c".
		return storage.Resource{}, fmt.Errorf("mongo: read %s/%s: %w", resourceType, id, storage.ErrNotFound)
	}

	doc, err := s.findCurrent(ctx, resourceType, id)
	if err != nil {
		return storage.Resource{}, err
	}
	if doc == nil {
		return storage.Resource{}, fmt.Errorf("mongo: read %s/%s: %w", resourceType, id, storage.ErrNotFound)
	}
	r := doc.resource()
	if r.Deleted {
		return r, fmt.Errorf("mongo: read %s/%s: deleted in version %d: %w", resourceType, id, r.VersionID, storage.ErrGone)
	}
	return r, nil
}

// ReadVersion returns version versionID of resourceType/id from history.
func (s *Store) ReadVersion(ctx context.Context, resourceType, id string, versionID int64) (storage.Resource, error) {
	doc, err := s.findVersion(ctx, resourceType, id, versionID)
	if err != nil {
		return storage.Resource{}, err
	}
	if doc == nil {
		return storage.Resource{}, fmt.Errorf("mongo: read %s/%s/_history/%d: %w", resourceType, id, versionID, storage.ErrNotFound)
	}
	r := doc.resource()
	if r.Deleted {
		return r, fmt.Errorf("mongo: read %s/%s/_history/%d: version is a deletion: %w", resourceType, id, versionID, storage.ErrGone)
	}
	return r, nil
}
