package progress

import (
	"bytes"
	"testing"
	"time"
)

func TestCountProgress(t *testing.T) {
	tests := []struct {
		name string
		tty  bool
		want string
	}{
		{"plain", false, "c01: ok\nc02: ok\n"},
		{"tty", true, "c01: ok\n[############............] 1/2 candidates, 1.0s, ETA 1s" + clearLine +
			"c02: ok\n[########################] 2/2 candidates, 2.0s, done" + clearLine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			t0 := time.Unix(0, 0)
			tick := 0
			p := &Counter{w: &b, tty: tt.tty, what: "candidates", total: 2, start: t0,
				now: func() time.Time { tick++; return t0.Add(time.Duration(tick) * time.Second) }}
			p.Step("c01: ok")
			p.Step("c02: ok")
			p.Finish()
			if b.String() != tt.want {
				t.Errorf("got %q\nwant %q", b.String(), tt.want)
			}
		})
	}
}
