package main

import (
	"context"
	"errors"

	"github.com/ward-fhir/ward/storage"
)

// openMongo opens the MongoDB backend.
func openMongo(ctx context.Context, uri string) (storage.Backend, error) {
	_ = ctx
	_ = uri
	// TODO: the MongoDB backend (storage/mongo) is not written yet.
	return nil, errors.New("the MongoDB backend is not available in this build yet; leave --mongodb-uri empty to use the embedded store")
}
