package templates

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestXMLComment(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"exam1", "exam1"},
		{"exam-1", "exam-1"},
		{"exam--1", "exam-_1"},
		{"a---b", "a-_-b"},
		{"a----b", "a-_-_b"},
		{"c01-", "c01-_"},
	} {
		got := xmlComment(tc.in)
		if got != tc.want {
			t.Errorf("xmlComment(%q) = %q, want %q", tc.in, got, tc.want)
		}
		doc := "<a><!-- " + got + "--></a>"
		if strings.HasSuffix(got, " ") || xml.Unmarshal([]byte(doc), new(struct{})) != nil {
			t.Errorf("%q is not a valid comment", doc)
		}
	}
}
