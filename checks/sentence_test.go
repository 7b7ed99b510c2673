package checks

import "testing"

func TestExpectationSentence(t *testing.T) {
	for _, tt := range []struct {
		e    Expectation
		want string
	}{
		{Expectation{Field: "comptes", Actual: `["a"]`, Expected: "nombre d'éléments au moins 3", Found: "1"},
			"attendu : nombre d'éléments au moins 3 ; trouvé : 1 (comptes)"},
		{Expectation{Field: "stdout", Actual: `"L\n"`, Expected: `égal à "P"`}, "attendu : égal à « P » ; trouvé : « L » (stdout)"},
		{Expectation{Field: "nom", Actual: `"srv.tpe.lan"`, Expected: `correspond à /^srv\.(lab|tpe)\.lan$/`},
			`attendu : correspond au motif « ^srv\.(lab|tpe)\.lan$ » ; trouvé : « srv.tpe.lan » (nom)`},
		{Expectation{Actual: "(absent)", Expected: "présent"}, "attendu : présent ; trouvé : rien (valeur absente)"},
		{Expectation{Field: "x", Actual: `""`, Expected: `égal à "a \"b\""`}, `attendu : égal à « a "b" » ; trouvé : une valeur vide (x)`},
	} {
		if got := tt.e.Sentence(); got != tt.want {
			t.Errorf("Sentence(%+v)\n got %s\nwant %s", tt.e, got, tt.want)
		}
	}
}
