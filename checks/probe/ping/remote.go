package ping

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tailab/tailab/checks/probe"
	"github.com/tailab/tailab/checks/probe/ssh"
)

var (
	statsRe = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)
	rttRe   = regexp.MustCompile(`= [\d.]+/([\d.]+)/`)
)

// remoteCommand runs iputils' or busybox's ping with a deadline of its own.
func remoteCommand(host string, count int, deadline time.Duration) string {
	w := max(int(deadline/time.Second), 1)
	return fmt.Sprintf(`if command -v ping >/dev/null 2>&1; then P=ping; elif command -v busybox >/dev/null 2>&1; then P="busybox ping"; else echo "no ping command on this machine" >&2; exit 127; fi
$P -c %d -W 1 -w %d %s 2>&1`, count, w, "'"+strings.ReplaceAll(host, "'", `'\''`)+"'")
}

// parseRemote reads a ping run's summary lines.
func parseRemote(out string) (result, bool) {
	res := result{method: "remote"}
	m := statsRe.FindStringSubmatch(out)
	if m == nil {
		return res, false
	}
	res.sent, _ = strconv.Atoi(m[1])
	res.received, _ = strconv.Atoi(m[2])
	if r := rttRe.FindStringSubmatch(out); r != nil && res.received > 0 {
		res.avg, _ = strconv.ParseFloat(r[1], 64)
	}
	return res, true
}

// fromVantage runs the pings of one vantage machine in one shell batch.
func (p *Probe) fromVantage(ctx context.Context, t probe.Target, from string, reqs []probe.Request, idx []int, obs []probe.Observation) {
	fail := func(err error) {
		for _, i := range idx {
			obs[i] = probe.Observation{ID: reqs[i].ID, Err: err}
		}
	}
	if p.Vantage == nil {
		fail(fmt.Errorf("ping from %q: this grader cannot run commands on other machines (no vantage resolver)", from))
		return
	}
	vt, err := p.Vantage(ctx, from)
	if err != nil {
		fail(fmt.Errorf("ping from %q: %w", from, err))
		return
	}
	shell := p.Shell
	if shell == nil {
		shell = ssh.New()
	}
	mk := p.ShellParams
	if mk == nil {
		mk = func(cmd string, to time.Duration) probe.Params { return &ssh.Params{Command: cmd, Timeout: to} }
	}
	sreqs := make([]probe.Request, len(idx))
	hosts := make([]string, len(idx))
	for k, i := range idx {
		prm := reqs[i].Params.(*Params)
		host := prm.Host
		if host == "" {
			host = t.Address
		}
		hosts[k] = host
		count := prm.Count
		if count == 0 {
			count = DefaultCount
		}
		to := timeoutOf(prm, reqs[i], count)
		// ping's own deadline (-w) ends before the shell's timeout.
		sreqs[k] = probe.Request{ID: reqs[i].ID, Params: mk(remoteCommand(host, count, to), to+2*time.Second)}
	}
	sobs, err := shell.Run(ctx, vt, sreqs)
	if err != nil && len(sobs) != len(sreqs) {
		fail(fmt.Errorf("ping from %q: %w", from, err))
		return
	}
	for k, i := range idx {
		so := sobs[k]
		o := probe.Observation{ID: reqs[i].ID, Duration: so.Duration}
		o.Evidence = t.Masker.Mask(fmt.Sprintf("ping %s from %s (%s)\n%s", hosts[k], from, vt.Address, so.Evidence))
		switch {
		case so.Err != nil:
			o.Err = fmt.Errorf("ping from %q: %w", from, so.Err)
		default:
			out, _ := so.Values["stdout"].(string)
			res, ok := parseRemote(out)
			if !ok {
				o.Err = fmt.Errorf("ping from %q: no ping statistics in the output (exit %v): %.200s", from, so.Values["exit_code"], strings.TrimSpace(out+" "+fmt.Sprint(so.Values["stderr"])))
				break
			}
			o.Values = res.values()
		}
		obs[i] = o
	}
}
