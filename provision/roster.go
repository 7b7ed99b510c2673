package provision

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/tailab/tailab/labs"
)

// Roster is a candidate roster as read from a file: the candidates in the
// file's order, the text encoding found, and what the admin should know about
// the file (a legacy encoding converted, a column ignored, numbers given).
type Roster struct {
	Candidates []labs.Candidate
	// Encoding is the encoding the file was read in: "UTF-8", "UTF-16",
	// "Windows-1252" or "ISO-8859-15".
	Encoding string
	// Warnings are in French, each prefixed with the file name.
	Warnings []string
}

// rosterColumn is a field a roster column can hold.
type rosterColumn int

const (
	colNone rosterColumn = iota
	colID
	colLast
	colFirst
	colEmail
	colSeat
)

// rosterHeaders maps a header cell, folded by headerKey (lower case, no
// accents, letters and digits only, "°" read as "o"), to its field. French
// spreadsheets write N°, Numéro, Nom, Prénom; English ones id, last name.
var rosterHeaders = map[string]rosterColumn{
	"id": colID, "identifiant": colID, "no": colID, "num": colID, "numero": colID,
	"nocandidat": colID, "numerocandidat": colID, "numerodecandidat": colID, "candidat": colID, "candidate": colID,
	"nom": colLast, "nomdefamille": colLast, "lastname": colLast, "last": colLast, "surname": colLast, "familyname": colLast,
	"prenom": colFirst, "firstname": colFirst, "first": colFirst, "givenname": colFirst,
	"email": colEmail, "mail": colEmail, "courriel": colEmail, "adressemail": colEmail, "adresseemail": colEmail, "emailaddress": colEmail,
	"poste": colSeat, "seat": colSeat, "place": colSeat,
}

var columnNames = map[rosterColumn]string{colID: "identifiant", colLast: "nom", colFirst: "prénom", colEmail: "courriel", colSeat: "poste"}

// headerKey folds a header cell for rosterHeaders.
func headerKey(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, strings.ToLower(strings.TrimSpace(s)))
	if err != nil {
		folded = strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range folded {
		switch {
		case r == '°' || r == 'º':
			b.WriteRune('o')
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// decodeRoster turns the file's bytes into text: UTF-8 with or without BOM
// as it is, UTF-16 with a BOM (Excel's "Unicode text"), and anything else as
// the 8-bit encoding French Windows spreadsheets save in. Windows-1252 and
// ISO-8859-15 agree on every letter of French names except œ/Œ (and a few
// signs): a byte 0x80-0x9F is Windows-1252 (ISO-8859-15 has controls there),
// a byte that is œ, Œ, Š, Ž or € in ISO-8859-15 but ½, ¼, ¦, ´ or ¤ in
// Windows-1252 (signs no name holds) is ISO-8859-15.
func decodeRoster(data []byte) (text, enc string, err error) {
	var dec *encoding.Decoder
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		data, enc = data[3:], "UTF-8"
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
		dec, enc = xunicode.UTF16(xunicode.LittleEndian, xunicode.UseBOM).NewDecoder(), "UTF-16"
	case utf8.Valid(data):
		enc = "UTF-8"
	default:
		dec, enc = charmap.Windows1252.NewDecoder(), "Windows-1252"
		if !hasC1(data) && bytes.ContainsAny(data, "\xa4\xa6\xa8\xb4\xb8\xbc\xbd\xbe") {
			dec, enc = charmap.ISO8859_15.NewDecoder(), "ISO-8859-15"
		}
	}
	if dec == nil {
		return string(data), enc, nil
	}
	out, err := dec.Bytes(data)
	if err != nil {
		return "", enc, err
	}
	return string(out), enc, nil
}

// hasC1 reports a byte in 0x80-0x9F.
func hasC1(data []byte) bool {
	for _, b := range data {
		if b >= 0x80 && b <= 0x9f {
			return true
		}
	}
	return false
}

// rosterComma picks the separator of the first line: tab, ';' (French
// spreadsheets) or ','.
func rosterComma(text string) rune {
	first, _, _ := strings.Cut(text, "\n")
	comma, most := ',', strings.Count(first, ",")
	for _, c := range []rune{';', '\t'} {
		if n := strings.Count(first, string(c)); n > most {
			comma, most = c, n
		}
	}
	return comma
}

// ReadRoster reads a candidate roster: CSV (',', ';' or tab) in UTF-8, UTF-16
// or the 8-bit encodings French spreadsheets save in, with a header row in
// French or English (N°/Numéro/Identifiant/id, Nom, Prénom, Email/Courriel,
// Poste/Seat, in any order) or, without a header, the columns id, last name,
// first name. A roster with names but no id column numbers its candidates
// c01, c02... in the file's order. Every refusal is in French, with the file
// and line, all of them at once.
func ReadRoster(name string, r io.Reader) (*Roster, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("lecture de la liste %s : %w", name, err)
	}
	text, enc, err := decodeRoster(data)
	if err != nil {
		return nil, fmt.Errorf("%s : encodage %s illisible : %w", name, enc, err)
	}
	out := &Roster{Encoding: enc}
	if enc != "UTF-8" {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%s : fichier en %s (pas en UTF-8), converti ; vérifiez les accents des noms ci-dessous", name, enc))
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comma = rosterComma(text)
	var (
		errs    []string
		cols    []rosterColumn // the header's columns; nil: id, last, first by position
		header  bool           // the first row was read (a header or not)
		numbers bool           // ids are given by the roster's order
		seen    = map[string]int{}
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			errs = append(errs, fmt.Sprintf("%s:%d: ligne illisible (guillemet non fermé ?) : %v", name, line, errors.Unwrap(err)))
			break
		}
		if blankRecord(rec) {
			continue
		}
		if !header {
			header = true
			if c, ok, herr := rosterHeader(rec); ok || herr != "" {
				if herr != "" {
					errs = append(errs, fmt.Sprintf("%s:%d: %s", name, line, herr))
					break
				}
				cols = c
				numbers = !slices.Contains(cols, colID)
				if numbers {
					out.Warnings = append(out.Warnings, fmt.Sprintf("%s : pas de colonne d'identifiant (N°, Numéro, Identifiant, id) : les candidats sont numérotés c01, c02… dans l'ordre du fichier", name))
				}
				for i, col := range cols {
					if col == colNone && strings.TrimSpace(rec[i]) != "" {
						out.Warnings = append(out.Warnings, fmt.Sprintf("%s:%d: colonne %s ignorée", name, line, quoteCell(strings.TrimSpace(rec[i]))))
					}
				}
				continue
			}
		}
		c, msg := rosterRow(rec, cols)
		if msg != "" {
			errs = append(errs, fmt.Sprintf("%s:%d: %s", name, line, msg))
			continue
		}
		if numbers {
			c.ID = fmt.Sprintf("c%02d", len(out.Candidates)+1)
		}
		if err := ValidateName("candidate id", c.ID); err != nil {
			errs = append(errs, fmt.Sprintf("%s:%d: identifiant %s invalide : 1 à 20 lettres minuscules sans accent, chiffres ou « - », commençant par une lettre ou un chiffre", name, line, quoteCell(c.ID)))
			continue
		}
		if prev, dup := seen[c.ID]; dup {
			errs = append(errs, fmt.Sprintf("%s:%d: identifiant %q déjà utilisé ligne %d", name, line, c.ID, prev))
			continue
		}
		seen[c.ID] = line
		c.Index = len(out.Candidates) + 1
		out.Candidates = append(out.Candidates, c)
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	if len(out.Candidates) == 0 {
		return nil, fmt.Errorf("%s : aucun candidat dans la liste", name)
	}
	return out, nil
}

// rosterHeader reads a first row as a header: ok when one of its cells names
// a column; a message when it names one twice or has no name column at all.
func rosterHeader(rec []string) (cols []rosterColumn, ok bool, msg string) {
	where := map[rosterColumn]int{}
	for i, cell := range rec {
		col := rosterHeaders[headerKey(cell)]
		if col != colNone {
			if prev, dup := where[col]; dup {
				return nil, true, fmt.Sprintf("en-tête : la colonne %s apparaît deux fois (colonnes %d et %d)", columnNames[col], prev+1, i+1)
			}
			where[col] = i
			ok = true
		}
		cols = append(cols, col)
	}
	if !ok {
		return nil, false, ""
	}
	_, id := where[colID]
	_, last := where[colLast]
	if !id && !last {
		return nil, true, "en-tête sans colonne N° ni Nom : indiquez au moins l'une des deux (colonnes reconnues : N°, Numéro, Identifiant, Nom, Prénom, Email, Poste)"
	}
	return cols, true, ""
}

// rosterRow reads one candidate: by the header's columns, or id, last name,
// first name by position.
func rosterRow(rec []string, cols []rosterColumn) (labs.Candidate, string) {
	var c labs.Candidate
	if cols == nil {
		if len(rec) != 3 {
			return c, fmt.Sprintf("3 colonnes attendues (identifiant, nom, prénom), %d trouvée(s) ; ou ajoutez une ligne d'en-tête (N°;Nom;Prénom)", len(rec))
		}
		cols = []rosterColumn{colID, colLast, colFirst}
	}
	if len(rec) > len(cols) {
		for _, extra := range rec[len(cols):] {
			if strings.TrimSpace(extra) != "" {
				return c, fmt.Sprintf("%d colonnes, l'en-tête n'en a que %d", len(rec), len(cols))
			}
		}
	}
	for i, col := range cols {
		v := ""
		if i < len(rec) {
			v = strings.TrimSpace(rec[i])
		}
		switch col {
		case colID:
			c.ID = strings.ToLower(v)
		case colLast:
			c.LastName = v
		case colFirst:
			c.FirstName = v
		case colEmail:
			c.Email = v
		case colSeat:
			c.Seat = v
		}
	}
	if slices.Contains(cols, colID) && c.ID == "" {
		return c, "identifiant vide"
	}
	if slices.Contains(cols, colLast) && c.LastName == "" {
		return c, "nom vide"
	}
	return c, ""
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// quoteCell quotes a cell of the roster in a message when it is short (32
// characters at most), and gives its length otherwise: a file named as a
// roster that is none (a CSV of secrets) has no value printed back whole.
func quoteCell(s string) string {
	if n := utf8.RuneCountInString(s); n > 32 {
		return fmt.Sprintf("de %d caractères", n)
	}
	return fmt.Sprintf("« %s »", s)
}
