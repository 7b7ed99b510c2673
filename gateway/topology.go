package gateway

import (
	"fmt"
	"html"
	"net/http"
	"strings"
)

// topology draws the candidate's lab as SVG: one horizontal bar per lab
// network (name and prefix), one box per machine below them (name, kind),
// a line from each machine to every network it is on, with its address.
func (g *Gateway) topology(w http.ResponseWriter, r *http.Request, candidate string) {
	ins, err := g.sess.Instances(candidate)
	if err != nil {
		http.Error(w, msgInternal, http.StatusInternalServerError)
		return
	}
	in := ins[0]
	const (
		left, boxW, boxH, gap = 20, 150, 54, 30
		netGap, top           = 46, 30
	)
	width := left*2 + len(in.Machines)*(boxW+gap)
	if width < 400 {
		width = 400
	}
	netY := map[string]int{}
	for i, n := range in.Networks {
		netY[n.Name] = top + i*netGap
	}
	boxY := top + len(in.Networks)*netGap + 40
	height := boxY + boxH + 30
	var b strings.Builder
	e := html.EscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`, width, height, width, height)
	b.WriteString(`<title>Topologie de votre lab</title>`)
	for _, n := range in.Networks {
		y := netY[n.Name]
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#2c5d8a" stroke-width="6"/>`, left, y, width-left, y)
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#2c5d8a" font-weight="bold">%s %s</text>`, left, y-8, e(n.Name), e(n.CIDR))
	}
	for j, m := range in.Machines {
		x := left + j*(boxW+gap)
		cx := x + boxW/2
		for k, nic := range m.NICs {
			y, ok := netY[nic.Network]
			if !ok {
				continue
			}
			lx := cx - 20 + k*14
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="2"/>`, lx, y, lx, boxY)
			if nic.Address != "" {
				fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#000">%s</text>`, lx+4, boxY-8-k*14, e(nic.Address))
			}
		}
		kind := "conteneur"
		if m.Kind == "vm" {
			kind = "machine virtuelle"
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="#f3f6fa" stroke="#333"/>`, x, boxY, boxW, boxH)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-weight="bold">%s</text>`, cx, boxY+22, e(m.Name))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="11">%s</text>`, cx, boxY+40, e(kind))
	}
	b.WriteString(`</svg>`)
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write([]byte(b.String()))
}
