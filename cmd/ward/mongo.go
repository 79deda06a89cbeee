package main

import (
	"context"
	"fmt"

	"github.com/ward-fhir/ward/storage"
	"github.com/ward-fhir/ward/storage/mongo"
)

// openMongo opens the MongoDB backend on the database named in uri, or
// "ward" when the URI names none. The deployment must be a replica set or a
// sharded cluster, because every write is a transaction.
func openMongo(ctx context.Context, uri string) (storage.Backend, error) {
	store, err := mongo.Open(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("open the MongoDB store: %w", err)
	}
	return store, nil
}
