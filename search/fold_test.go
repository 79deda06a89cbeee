package search

import "testing"

func TestFold(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Peter", "peter"},
		{"MÜLLER", "muller"},
		{"Müller", "muller"},
		{"Ødegård", "odegard"},
		{"Łódź", "lodz"},
		{"Straße", "strasse"},
		{"Ærø", "aero"},
		{"ﬁnn", "finn"},
		{"Crème Brûlée", "creme brulee"},
		{"ΣΊΣΥΦΟΣ", "σισυφοσ"},
		{"", ""},
	}
	for _, tc := range cases {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFoldIdempotent(t *testing.T) {
	for _, s := range []string{"Müller", "Straße", "ΣΊΣΥΦΟΣ", "ﬁnn", "Ødegård"} {
		once := Fold(s)
		if twice := Fold(once); twice != once {
			t.Errorf("Fold(Fold(%q)) = %q, want %q", s, twice, once)
		}
	}
}
