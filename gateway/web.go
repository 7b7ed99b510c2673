package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tailab/tailab/labs"
)

//go:embed static
var staticFS embed.FS

//go:embed pages/*.html
var pagesFS embed.FS

var pages = template.Must(template.ParseFS(pagesFS, "pages/*.html"))

// webState holds the browser side's logins: a random token per login, in
// memory only (a restarted gateway asks candidates to log in again).
type webState struct {
	mu     sync.Mutex
	tokens map[string]webLogin
}

type webLogin struct {
	candidate string
	expires   time.Time
}

const (
	cookieName  = "tailab_passerelle"
	webLoginTTL = 12 * time.Hour
)

// ServeWeb serves the browser side over HTTPS on ln, with the certificate
// kept in the store for address, until ctx ends; a failure goes to errs. It
// returns the certificate's SHA-256, which the access sheets print.
func (g *Gateway) ServeWeb(ctx context.Context, ln net.Listener, address string, errs chan<- error) (string, error) {
	cert, sum, err := Certificate(g.store, address)
	if err != nil {
		return "", err
	}
	srv := &http.Server{
		Handler:           g.WebHandler(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          log.New(discard{}, "", 0), // TLS handshake noise from scanners
	}
	g.enforce(ctx)
	go func() { <-ctx.Done(); srv.Close() }()
	go func() {
		err := srv.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errs <- err
	}()
	return sum, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// WebHandler is the browser side's HTTP handler (served over TLS by ServeWeb).
func (g *Gateway) WebHandler() http.Handler {
	g.mu.Lock()
	if g.web == nil {
		g.web = &webState{tokens: map[string]webLogin{}}
	}
	g.mu.Unlock()
	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	mux.HandleFunc("GET /{$}", g.home)
	mux.HandleFunc("POST /connexion", g.login)
	mux.HandleFunc("POST /deconnexion", g.logout)
	mux.HandleFunc("GET /enonce", g.withCandidate(g.statement))
	mux.HandleFunc("GET /topologie.svg", g.withCandidate(g.topology))
	mux.HandleFunc("GET /etat", g.withCandidate(g.status))
	mux.HandleFunc("GET /terminal", g.withCandidate(g.terminal))
	mux.HandleFunc("GET /console", g.withCandidate(g.console))
	return securityHeaders(mux)
}

// securityHeaders forbids what the pages never need: other origins' scripts,
// inline scripts, framing by another site, MIME sniffing.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// candidateOf returns the candidate logged in with the request's cookie.
func (g *Gateway) candidateOf(r *http.Request) (string, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", false
	}
	g.web.mu.Lock()
	defer g.web.mu.Unlock()
	l, ok := g.web.tokens[c.Value]
	if !ok || now().After(l.expires) {
		delete(g.web.tokens, c.Value)
		return "", false
	}
	return l.candidate, true
}

func (g *Gateway) withCandidate(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := g.candidateOf(r)
		if !ok {
			http.Error(w, "Non connecté : identifiez-vous sur la page d'accueil.", http.StatusUnauthorized)
			return
		}
		// the window closes browser sessions too
		if wnd, err := LoadWindow(g.store, g.sess.Name); err != nil || wnd.At(now()) != Open {
			msg := "Erreur de la passerelle : prévenez le surveillant."
			if err == nil {
				msg = wnd.Refusal(now(), g.cfg.Location)
			}
			http.Error(w, msg, http.StatusForbidden)
			return
		}
		h(w, r, c)
	}
}

type loginPage struct {
	Session string
	Error   string
	Login   string
}

func (g *Gateway) home(w http.ResponseWriter, r *http.Request) {
	c, ok := g.candidateOf(r)
	if !ok {
		g.render(w, http.StatusOK, "login.html", loginPage{Session: g.sess.Name})
		return
	}
	ms, err := g.machines(c)
	if err != nil {
		g.cfg.Log.Error("candidate machines", "candidate", c, "err", err)
		http.Error(w, msgInternal, http.StatusInternalServerError)
		return
	}
	type tab struct {
		Name, Kind, Addresses string
		Terminal, Console     bool
	}
	data := struct {
		Session, Candidate, Name string
		Machines                 []tab
		Consoles                 bool
	}{Session: g.sess.Name, Candidate: c}
	if cand, ok := g.sess.Candidate(c); ok {
		data.Name = cand.FullName()
	}
	for _, m := range ms {
		t := tab{Name: m.Name, Kind: m.Kind, Terminal: m.terminal(), Console: m.Kind == labs.KindVM}
		for _, a := range m.Addresses {
			if t.Addresses != "" {
				t.Addresses += ", "
			}
			t.Addresses += a
		}
		data.Machines = append(data.Machines, t)
		data.Consoles = data.Consoles || t.Console
	}
	g.render(w, http.StatusOK, "candidate.html", data)
}

func (g *Gateway) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		g.cfg.Log.Error("page", "page", name, "err", err)
	}
}

func (g *Gateway) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		g.render(w, http.StatusBadRequest, "login.html", loginPage{Session: g.sess.Name, Error: "Formulaire invalide."})
		return
	}
	login, password := r.PostFormValue("identifiant"), r.PostFormValue("motdepasse")
	src := remoteHost(addr(r.RemoteAddr))
	if err := g.authenticate(login, password, src, "web"); err != nil {
		msg, status := msgInternal, http.StatusInternalServerError
		var ae *authError
		if errors.As(err, &ae) {
			msg, status = ae.Candidate, http.StatusForbidden
		}
		if len(login) > 40 {
			login = ""
		}
		g.render(w, status, "login.html", loginPage{Session: g.sess.Name, Error: msg, Login: login})
		return
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		http.Error(w, msgInternal, http.StatusInternalServerError)
		return
	}
	token := hex.EncodeToString(b)
	g.web.mu.Lock()
	g.web.tokens[token] = webLogin{candidate: login, expires: now().Add(webLoginTTL)}
	g.web.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(webLoginTTL.Seconds())})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (g *Gateway) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		g.web.mu.Lock()
		delete(g.web.tokens, c.Value)
		g.web.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (g *Gateway) statement(w http.ResponseWriter, r *http.Request, c string) {
	if g.cfg.Statement == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!DOCTYPE html><html lang="fr"><meta charset="utf-8"><p>Pas d'énoncé en ligne pour cette épreuve : voyez le sujet papier.</p></html>`))
		return
	}
	page, err := g.cfg.Statement(c)
	if err != nil {
		g.cfg.Log.Error("statement", "candidate", c, "err", err)
		http.Error(w, msgInternal, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")
	_, _ = w.Write(page)
}

// status is what the countdown needs: the server's time and the close.
func (g *Gateway) status(w http.ResponseWriter, r *http.Request, c string) {
	wnd, err := LoadWindow(g.store, g.sess.Name)
	if err != nil {
		http.Error(w, msgInternal, http.StatusInternalServerError)
		return
	}
	out := map[string]any{"maintenant": now().UTC().Format(time.RFC3339Nano)}
	if !wnd.Closes.IsZero() {
		out["fermeture"] = wnd.Closes.Format(time.RFC3339)
		out["fermeture_texte"] = frenchTime(wnd.Closes, g.cfg.Location)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// addr parses a request's RemoteAddr for remoteHost.
type addr string

func (a addr) Network() string { return "tcp" }
func (a addr) String() string  { return string(a) }
