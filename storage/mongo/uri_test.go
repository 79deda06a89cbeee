package mongo

import "testing"

func TestDatabaseFromURI(t *testing.T) {
	tests := []struct {
		name string
		uri  string
		want string
	}{
		{"no path", "mongodb://localhost:27017", ""},
		{"empty path", "mongodb://localhost:27017/", ""},
		{"empty path with options", "mongodb://localhost/?replicaSet=rs0", ""},
		{"name", "mongodb://localhost/clinic", "clinic"},
		{"name with options", "mongodb://localhost/clinic?replicaSet=rs0&w=majority", "clinic"},
		{"several hosts", "mongodb://a:27017,b:27018,c/clinic?replicaSet=rs0", "clinic"},
		{"credentials", "mongodb://user:p%2Fss%3Fword@localhost/clinic", "clinic"},
		{"srv", "mongodb+srv://cluster.example.org/clinic", "clinic"},
		{"percent-encoded name", "mongodb://localhost/ward%2Dtest", "ward-test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := databaseFromURI(tc.uri)
			if err != nil {
				t.Fatalf("databaseFromURI(%q): %v", tc.uri, err)
			}
			if got != tc.want {
				t.Errorf("databaseFromURI(%q) = %q, want %q", tc.uri, got, tc.want)
			}
		})
	}
}

func TestDatabaseFromURIInvalid(t *testing.T) {
	for _, uri := range []string{"localhost:27017/clinic", "mongodb://localhost/%zz"} {
		if got, err := databaseFromURI(uri); err == nil {
			t.Errorf("databaseFromURI(%q) = %q, want an error", uri, got)
		}
	}
}
