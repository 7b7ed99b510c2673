package ldap

import (
	"context"
	"fmt"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/tailab/tailab/checks/probe"
)

// Conn is a bound connection opened by Connect.
type Conn struct {
	*goldap.Conn
	// URL says where it is connected: "ldaps://10.0.0.5:636",
	// "ldap://10.0.0.5:389 (StartTLS)".
	URL string
	// BindAs is the identity it bound as, "(anonymous)" without credentials.
	BindAs string

	stop func() bool
}

// Close closes the connection.
func (c *Conn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// Connect opens and binds a connection to the target as a check with the
// connection fields of p would (tls, port, insecure_skip_verify, ca_file,
// server_name, credentials; the search fields are ignored): for writers of the
// directory, such as fault and solution steps over the ldap transport. timeout
// bounds the dial, the TLS handshake and the bind, then each operation; ctx
// ending closes the connection. The caller closes it. Errors start with
// "ldap <address>:" and never show the password.
func (l *LDAP) Connect(ctx context.Context, t probe.Target, p *Params, timeout time.Duration) (*Conn, error) {
	if p == nil {
		p = &Params{}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	s, err := l.open(ctx, t, p, timeout)
	if err != nil {
		return nil, fmt.Errorf("ldap %s: %w", t.Address, err)
	}
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	return &Conn{Conn: s.conn, URL: s.url, BindAs: s.bindAs, stop: stop}, nil
}
