package ping

import "testing"

func TestParseRemote(t *testing.T) {
	tests := []struct {
		name, out      string
		ok             bool
		sent, received int
		avg            float64
	}{
		{"iputils", "PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.\n64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms\n\n--- 10.0.0.1 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 2003ms\nrtt min/avg/max/mdev = 0.045/0.053/0.062/0.007 ms\n", true, 3, 3, 0.053},
		{"iputils lost", "--- 10.0.0.9 ping statistics ---\n2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1001ms\n", true, 2, 0, 0},
		{"busybox", "--- 127.0.0.1 ping statistics ---\n2 packets transmitted, 2 packets received, 0% packet loss\nround-trip min/avg/max = 0.062/0.118/0.174 ms\n", true, 2, 2, 0.118},
		{"unknown host", "ping: bad address 'nohost'\n", false, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := parseRemote(tc.out)
			if ok != tc.ok || r.sent != tc.sent || r.received != tc.received || r.avg != tc.avg {
				t.Errorf("got %+v %v", r, ok)
			}
		})
	}
}
