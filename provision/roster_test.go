package provision

import (
	"strings"
	"testing"
)

func TestReadRoster(t *testing.T) {
	tests := []struct {
		name, csv string
		want      []string // "id NOM Prénom"
		enc       string
		warn      string // a warning that must be given
		err       string
	}{
		{name: "header and commas", csv: "id,nom,prénom\nA01,Dupont,Jeanne\na02,Martin,Luc\n", want: []string{"a01 DUPONT Jeanne", "a02 MARTIN Luc"}},
		{name: "semicolons and BOM", csv: "\ufeffid;nom;prénom\nc1;Durand;Zoé\n", want: []string{"c1 DURAND Zoé"}},
		{name: "no header", csv: "c1,Durand,Zoé\n\nc2,Petit,Léa\n", want: []string{"c1 DURAND Zoé", "c2 PETIT Léa"}},
		{name: "French Excel header", csv: "N°;Nom;Prénom\r\n1;Lefèvre;Zoé\r\n2;Ngô;Đức\r\n", want: []string{"1 LEFÈVRE Zoé", "2 NGÔ Đức"}},
		{name: "any order, email and seat", csv: "Prénom;Email;NOM;Poste;Numéro\nZoé;zoe@x.fr;Lefèvre;P12;c07\n", want: []string{"c07 LEFÈVRE Zoé"}},
		{name: "English header", csv: "Last name,First name,ID,Seat\nSmith,Ann,s1,3\n", want: []string{"s1 SMITH Ann"}},
		{name: "Identifiant and tabs", csv: "Identifiant\tNom\tPrénom\nx1\tA\tB\n", want: []string{"x1 A B"}},
		{name: "names only: numbered", csv: "Nom;Prénom\nMartin;Léa\nPetit;Hugo\n", want: []string{"c01 MARTIN Léa", "c02 PETIT Hugo"}, warn: "numérotés c01"},
		{name: "unknown column ignored", csv: "N°;Nom;Prénom;Groupe\n1;A;B;G2\n", want: []string{"1 A B"}, warn: "colonne « Groupe » ignorée"},
		{name: "windows-1252", csv: "N\xb0;Nom;Pr\xe9nom\r\n1;Lef\xe8vre;Zo\xe9\r\n2;C\x9cur;\xc9lodie\r\n", want: []string{"1 LEFÈVRE Zoé", "2 CŒUR Élodie"}, enc: "Windows-1252", warn: "fichier en Windows-1252"},
		{name: "iso-8859-15", csv: "N\xb0;Nom;Pr\xe9nom\n1;C\xbdur;Zo\xe9\n", want: []string{"1 CŒUR Zoé"}, enc: "ISO-8859-15", warn: "fichier en ISO-8859-15"},
		{name: "utf-16 with BOM", csv: "\xff\xfeN\x00\xb0\x00;\x00N\x00o\x00m\x00\n\x001\x00;\x00Z\x00\xe9\x00\n\x00", want: []string{"1 ZÉ"}, enc: "UTF-16"},
		{name: "bad columns", csv: "id,nom,prénom\nc1,Durand,Zoé,x\n", err: "roster.csv:2: 4 colonnes, l'en-tête n'en a que 3"},
		{name: "bad columns without header", csv: "c1,Durand\n", err: "roster.csv:1: 3 colonnes attendues"},
		{name: "bad id", csv: "c 1,Durand,Zoé\n", err: `roster.csv:1: identifiant « c 1 » invalide`},
		{name: "long bad id not printed", csv: "id,nom,prénom\n$y$j9t$0123456789abcdefghijklmnopqrstuv,A,B\n", err: "roster.csv:2: identifiant de 39 caractères invalide"},
		{name: "duplicate", csv: "c1,A,B\nc1,C,D\n", err: `roster.csv:2: identifiant "c1" déjà utilisé ligne 1`},
		{name: "empty name", csv: "N°;Nom\n1;\n", err: "roster.csv:2: nom vide"},
		{name: "header twice", csv: "Nom;Prénom;Nom\n", err: "roster.csv:1: en-tête : la colonne nom apparaît deux fois"},
		{name: "header without id or name", csv: "Prénom;Email\nZoé;z@x\n", err: "roster.csv:1: en-tête sans colonne N° ni Nom"},
		{name: "every error at once", csv: "c1,A,B\nc 2,C,D\nc1,E,F\n", err: "roster.csv:2: identifiant « c 2 » invalide : 1 à 20 lettres minuscules sans accent, chiffres ou « - », commençant par une lettre ou un chiffre\nroster.csv:3: identifiant \"c1\" déjà utilisé ligne 1"},
		{name: "empty", csv: "id,nom,prénom\n", err: "roster.csv : aucun candidat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRoster("roster.csv", strings.NewReader(tt.csv))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i, c := range got.Candidates {
				ids = append(ids, c.ID+" "+c.FullName())
				if c.Index != i+1 {
					t.Errorf("candidate %s has index %d, want %d", c.ID, c.Index, i+1)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Errorf("candidates %q, want %q", ids, tt.want)
			}
			if enc := tt.enc; enc == "" {
				tt.enc = "UTF-8"
			}
			if got.Encoding != tt.enc {
				t.Errorf("encoding %q, want %q", got.Encoding, tt.enc)
			}
			warnings := strings.Join(got.Warnings, "\n")
			if tt.warn != "" && !strings.Contains(warnings, tt.warn) {
				t.Errorf("warnings %q, want one with %q", warnings, tt.warn)
			}
			if tt.warn == "" && warnings != "" && tt.enc == "UTF-8" {
				t.Errorf("unexpected warnings %q", warnings)
			}
		})
	}
}

func TestReadRosterEmailAndSeat(t *testing.T) {
	got, err := ReadRoster("r.csv", strings.NewReader("Poste;Courriel;N°;Nom;Prénom\nP-12;zoe@centre.fr;7;Lefèvre;Zoé\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := got.Candidates[0]
	if c.ID != "7" || c.Seat != "P-12" || c.Email != "zoe@centre.fr" || c.LastName != "Lefèvre" || c.FirstName != "Zoé" {
		t.Errorf("candidate %+v", c)
	}
}
