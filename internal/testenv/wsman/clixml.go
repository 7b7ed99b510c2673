package wsman

import (
	"fmt"
	"strings"
)

// CLIXML renders error records the way powershell.exe writes them to a
// redirected stderr: a "#< CLIXML" line, then one <Objs> document holding the
// usual "Preparing modules for first use." progress record and one <S S="Error">
// line per line of each message, with CR LF escaped as _x000D__x000A_.
func CLIXML(messages ...string) []byte {
	var b strings.Builder
	b.WriteString("#< CLIXML\r\n")
	b.WriteString(`<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">`)
	b.WriteString(`<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>`)
	for _, m := range messages {
		for _, line := range strings.Split(strings.ReplaceAll(m, "\r\n", "\n"), "\n") {
			fmt.Fprintf(&b, `<S S="Error">%s_x000D__x000A_</S>`, clixmlEscape(line))
		}
	}
	b.WriteString(`</Objs>`)
	return []byte(b.String())
}

// clixmlEscape escapes XML and, like PowerShell's serializer, control characters
// as _xHHHH_.
func clixmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r < 0x20:
			fmt.Fprintf(&b, "_x%04X_", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
