// Package templates holds the text tailab generates machines from — container
// init scripts, sshd configuration, cloud-init NoCloud seeds, the Windows answer
// file — embedded in the binary and rendered with text/template.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed lxc cloud-init windows terraform rootfs
var files embed.FS

var funcs = template.FuncMap{
	"quote":   shellQuote,
	"join":    strings.Join,
	"xml":     xmlEscape,
	"comment": xmlComment,
	"add":     func(a, b int) int { return a + b },
	"indent":  indent,
}

// indent prefixes every line of s with n spaces (a YAML block scalar).
func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// RootFSPackages is the package list of the lab containers' rootfs
// (scripts/build-rootfs.sh builds it; tailab finds the build by its hash).
func RootFSPackages() ([]byte, error) { return files.ReadFile("rootfs/packages.txt") }

// Render renders the named template (e.g. "lxc/init.sh") with data.
func Render(name string, data any) ([]byte, error) {
	text, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// shellQuote quotes s for POSIX sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// xmlComment makes s safe inside an XML comment, where "--" may not appear
// and the text may not end with "-" (a session named "exam--1" would make the
// whole document unreadable): "--" becomes "-_", a final "-" gets a "_".
func xmlComment(s string) string {
	s = strings.ReplaceAll(s, "--", "-_") // non-overlapping: "---" → "-_-"
	if strings.HasSuffix(s, "-") {
		s += "_"
	}
	return s
}
