// Package sheets holds the candidates' exam statements (French), one Markdown
// text/template per lab (LAB.md), rendered by `tailab sheets` with each
// candidate's own values — the same values the grader checks.
package sheets

import (
	"bytes"
	"embed"
	"fmt"
	"html"
	"regexp"
	"strings"
	"text/template"
)

//go:embed *.md
var files embed.FS

// Has reports whether a lab has a statement template.
func Has(lab string) bool {
	_, err := files.ReadFile(lab + ".md")
	return err == nil
}

// Render renders the statement of lab for data (Markdown).
func Render(lab string, data any) ([]byte, error) {
	text, err := files.ReadFile(lab + ".md")
	if err != nil {
		return nil, fmt.Errorf("no candidate sheet for lab %q", lab)
	}
	t, err := template.New(lab).Option("missingkey=error").Funcs(template.FuncMap{"lower": strings.ToLower}).Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("sheet %s: %w", lab, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("sheet %s: %w", lab, err)
	}
	return b.Bytes(), nil
}

// cssString quotes s as a CSS string: quotes, backslashes and line breaks
// escaped, and '<' too, so no text closes the style element.
func cssString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\', '<', '>', '\n', '\r', '\f':
			fmt.Fprintf(&b, "\\%x ", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var (
	codeRe = regexp.MustCompile("`([^`]+)`")
	boldRe = regexp.MustCompile(`\*\*([^*]+)\*\*`)
)

func inline(s string) string {
	s = html.EscapeString(s)
	s = codeRe.ReplaceAllString(s, "<code>$1</code>")
	return boldRe.ReplaceAllString(s, "<strong>$1</strong>")
}

// HTML turns the Markdown subset the sheets use (#-headings, - lists, | tables |,
// paragraphs, **bold**, `code`) into a printable A4 HTML page. header, when
// set, is printed at the top of every page (the candidate's name and number:
// printed sheets come apart), with the page number at the bottom.
func HTML(title, header string, md []byte) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) + "</title>\n")
	b.WriteString("<style>@page{size:A4;margin:18mm}body{font-family:sans-serif;max-width:48em;margin:auto;line-height:1.4}" +
		"table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em}code{background:#eee;padding:0 .2em}")
	if header != "" {
		b.WriteString("\n@page{@top-left{content:" + cssString(header) + ";font-size:8pt;color:#444}" +
			"@bottom-right{content:\"page \" counter(page) \" / \" counter(pages);font-size:8pt;color:#444}}")
	}
	b.WriteString("</style></head><body>\n")
	inList, inTable := false, false
	closeBlocks := func() {
		if inList {
			b.WriteString("</ul>\n")
			inList = false
		}
		if inTable {
			b.WriteString("</table>\n")
			inTable = false
		}
	}
	for _, line := range strings.Split(string(md), "\n") {
		l := strings.TrimRight(line, " ")
		switch {
		case strings.HasPrefix(l, "#"):
			closeBlocks()
			n := len(l) - len(strings.TrimLeft(l, "#"))
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", n, inline(strings.TrimSpace(l[n:])), n)
		case strings.HasPrefix(l, "- "):
			if !inList {
				closeBlocks()
				b.WriteString("<ul>\n")
				inList = true
			}
			fmt.Fprintf(&b, "<li>%s</li>\n", inline(l[2:]))
		case strings.HasPrefix(l, "|"):
			if strings.Trim(l, "|-: ") == "" {
				continue // the header separator
			}
			tag := "td"
			if !inTable {
				closeBlocks()
				b.WriteString("<table>\n")
				inTable, tag = true, "th"
			}
			b.WriteString("<tr>")
			for _, c := range strings.Split(strings.Trim(l, "|"), "|") {
				fmt.Fprintf(&b, "<%s>%s</%s>", tag, inline(strings.TrimSpace(c)), tag)
			}
			b.WriteString("</tr>\n")
		case l == "":
			closeBlocks()
		default:
			closeBlocks()
			fmt.Fprintf(&b, "<p>%s</p>\n", inline(l))
		}
	}
	closeBlocks()
	b.WriteString("</body></html>\n")
	return []byte(b.String())
}
