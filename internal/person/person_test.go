package person

import "testing"

func TestFullName(t *testing.T) {
	for _, tt := range []struct{ last, first, want string }{
		{"Lefèvre", "Zoé", "LEFÈVRE Zoé"},
		{" de la Tour ", "Anne-Sophie", "DE LA TOUR Anne-Sophie"},
		{"", "Léa", "Léa"},
		{"Petit", "", "PETIT"},
		{"", "", ""},
	} {
		if got := FullName(tt.last, tt.first); got != tt.want {
			t.Errorf("FullName(%q, %q) = %q, want %q", tt.last, tt.first, got, tt.want)
		}
	}
}
