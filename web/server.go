// Package web is tailab's session dashboard (`tailab serve`): the
// session grid (candidates × competences, cells coloured by score), refreshed as
// `grade --watch` stores new reports, and a drill-down candidate → competence →
// check with the evidence and each check's history. Pages are rendered on the
// server with html/template; the CSS and a 30-line refresh script are embedded
// and served by the dashboard itself: no framework, no CDN, it works offline.
//
// Listening on anything but loopback requires a token (CheckListen); secrets
// are never rendered (evidence is masked by the grader, the token is never
// written anywhere).
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/results"
)

// MinTokenLength is the shortest token the dashboard accepts.
const MinTokenLength = 16

// DefaultPoll is how often the server reads the store for new reports.
const DefaultPoll = 2 * time.Second

// Config configures a Server.
type Config struct {
	State   *provision.State // the data dir's sessions
	Results *results.Store   // the data dir's stored gradings
	Session string
	// Token, when set, is required on every request: as the password of HTTP
	// Basic authentication (any user name), an "Authorization: Bearer" header,
	// or once as ?token= (which sets a cookie and redirects without it).
	Token secret.Value
	// Poll is how often the store is read again (DefaultPoll when 0); pages ask
	// the server for changes at the same pace.
	Poll time.Duration
	// Location is the time zone of the dates shown (UTC when nil).
	Location *time.Location
	// Jury, when set, opens the jury's form on each candidate's page (see
	// JuryFunc); nil keeps the dashboard read-only.
	Jury JuryFunc
	// Log receives one line per server event (no request bodies, no secrets);
	// nil discards.
	Log io.Writer
}

// Server is the dashboard of one session.
type Server struct {
	cfg     Config
	st      state
	cookie  string // expected cookie value: HMAC of the token, never the token
	csrf    string // the jury form's token (newCSRF)
	handler http.Handler
}

// New reads the session's stored reports and returns its dashboard. It fails
// when the data dir holds neither the session nor any report of it.
func New(cfg Config) (*Server, error) {
	if cfg.State == nil || cfg.Results == nil {
		return nil, errors.New("web: no state or results")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if !cfg.Token.IsZero() && len(cfg.Token.Reveal()) < MinTokenLength {
		return nil, fmt.Errorf("web: the token must be at least %d characters", MinTokenLength)
	}
	s := &Server{cfg: cfg, csrf: newCSRF()}
	if !cfg.Token.IsZero() {
		m := hmac.New(sha256.New, []byte(cfg.Token.Reveal()))
		m.Write([]byte("tailab-serve-cookie"))
		s.cookie = hex.EncodeToString(m.Sum(nil))
	}
	if _, err := s.refresh(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Refresh reads the store now (the server also does it every Poll); it reports
// whether a new report or roster change was found.
func (s *Server) Refresh() (bool, error) { return s.refresh() }

// Version is the current version of the dashboard's data (its ETag).
func (s *Server) Version() string {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	return s.st.version
}

// Handler returns the dashboard's HTTP handler (authentication included).
func (s *Server) Handler() http.Handler { return s.handler }

// CheckListen refuses to expose the dashboard beyond this machine without a
// token: addr must be a loopback address (127.0.0.0/8, ::1, localhost) unless
// hasToken.
func CheckListen(addr string, hasToken bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w (want HOST:PORT, e.g. 127.0.0.1:8080)", addr, err)
	}
	if hasToken || IsLoopback(host) {
		return nil
	}
	where := host
	if where == "" {
		where = "every interface"
	}
	return fmt.Errorf("refusing to listen on %s (%s) without a token: the dashboard shows every candidate's results; "+
		"set TAILAB_SERVE_TOKEN (at least %d characters) or --token-file, or listen on 127.0.0.1", addr, where, MinTokenLength)
}

// IsLoopback reports whether a listen host only accepts local connections.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Serve polls the store and serves l until ctx is done, then shuts down
// gracefully (in-flight requests get 5 seconds).
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	go s.poll(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // connections still busy after the grace period
	}
	return nil
}

// poll reads the store every Poll until ctx is done.
func (s *Server) poll(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := s.refresh()
		switch {
		case err != nil && err.Error() != lastErr:
			fmt.Fprintf(s.cfg.Log, "%s read the store: %v\n", time.Now().Format("15:04:05"), err)
			lastErr = err.Error()
		case err == nil && changed:
			lastErr = ""
			fmt.Fprintf(s.cfg.Log, "%s new results (version %s)\n", time.Now().Format("15:04:05"), s.Version())
		}
	}
}

const cookieName = "tailab_dashboard"

// authorized checks a request's credentials in constant time.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token.IsZero() {
		return true
	}
	want := s.cfg.Token.Reveal()
	if auth := r.Header.Get("Authorization"); auth != "" {
		if tok, ok := strings.CutPrefix(auth, "Bearer "); ok {
			return equalSecret(tok, want)
		}
		if b64, ok := strings.CutPrefix(auth, "Basic "); ok {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return false
			}
			_, pass, _ := strings.Cut(string(raw), ":")
			return equalSecret(pass, want)
		}
		return false
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return equalSecret(c.Value, s.cookie)
	}
	return false
}

// equalSecret compares in constant time (hashing first hides the length).
func equalSecret(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// withAuth guards every route when a token is set.
func (s *Server) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Token.IsZero() {
			next.ServeHTTP(w, r)
			return
		}
		if tok := r.URL.Query().Get("token"); tok != "" {
			q := r.URL.Query()
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			if !equalSecret(tok, s.cfg.Token.Reveal()) {
				s.unauthorized(w)
				return
			}
			http.SetCookie(w, &http.Cookie{
				Name: cookieName, Value: s.cookie, Path: "/", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
			})
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if !s.authorized(r) {
			s.unauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="tailab", charset="UTF-8"`)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, "Accès refusé : jeton requis (mot de passe de l’authentification HTTP ou ?token=).\n")
}

// securityHeaders: nothing but this origin's CSS and script, no framing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}
