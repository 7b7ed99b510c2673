package wsman

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Namespaces and URIs of the WS-Management and Windows Remote Shell protocols.
const (
	nsSOAP  = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr  = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsShell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"

	anonymous = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

	// ShellURI is the resource URI of cmd.exe shells (winrs).
	ShellURI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"

	ActionCreate  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	ActionDelete  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	ActionCommand = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	ActionSend    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
	ActionReceive = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	ActionSignal  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"

	stateDone    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
	stateRunning = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
	signalTerm   = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
	signalCtrlC  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c"
)

// envelope is an incoming SOAP 1.2 request with the WS-Addressing and
// WS-Management headers Windows reads.
type envelope struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		To               string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing To"`
		Action           string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		MessageID        string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		ReplyTo          string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing ReplyTo>Address"`
		ResourceURI      string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd ResourceURI"`
		MaxEnvelopeSize  int    `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd MaxEnvelopeSize"`
		OperationTimeout string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OperationTimeout"`
		Selectors        []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet>Selector"`
		Options []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OptionSet>Option"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Shell *struct {
			InputStreams  string `xml:"InputStreams"`
			OutputStreams string `xml:"OutputStreams"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
		CommandLine *struct {
			Command   string   `xml:"Command"`
			Arguments []string `xml:"Arguments"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandLine"`
		Send *struct {
			Streams []struct {
				Name      string `xml:"Name,attr"`
				CommandID string `xml:"CommandId,attr"`
				End       string `xml:"End,attr"`
				Data      string `xml:",chardata"`
			} `xml:"Stream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Send"`
		Receive *struct {
			DesiredStream struct {
				CommandID string `xml:"CommandId,attr"`
				Streams   string `xml:",chardata"`
			} `xml:"DesiredStream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Receive"`
		Signal *struct {
			CommandID string `xml:"CommandId,attr"`
			Code      string `xml:"Code"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Signal"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

func (e *envelope) selector(name string) string {
	for _, s := range e.Header.Selectors {
		if s.Name == name {
			return strings.TrimSpace(s.Value)
		}
	}
	return ""
}

func (e *envelope) option(name string) string {
	for _, o := range e.Header.Options {
		if o.Name == name {
			return strings.TrimSpace(o.Value)
		}
	}
	return ""
}

// operationTimeout parses the xs:duration of w:OperationTimeout (PT60S, PT5M0S,
// PT1.500S); an absent or unreadable value gives def.
func (e *envelope) operationTimeout(def time.Duration) time.Duration {
	d, ok := parseXSDuration(e.Header.OperationTimeout)
	if !ok || d <= 0 {
		return def
	}
	return d
}

// parseXSDuration reads the subset of xs:duration WS-Management clients send:
// P[nD]T[nH][nM][n[.n]S].
func parseXSDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "P") {
		return 0, false
	}
	s = s[1:]
	var total time.Duration
	inTime := false
	num := ""
	for _, r := range s {
		switch {
		case r == 'T':
			inTime = true
		case (r >= '0' && r <= '9') || r == '.':
			num += string(r)
		default:
			var f float64
			if _, err := fmt.Sscanf(num, "%g", &f); err != nil {
				return 0, false
			}
			num = ""
			switch {
			case r == 'D' && !inTime:
				total += time.Duration(f * float64(24*time.Hour))
			case r == 'H' && inTime:
				total += time.Duration(f * float64(time.Hour))
			case r == 'M' && inTime:
				total += time.Duration(f * float64(time.Minute))
			case r == 'S' && inTime:
				total += time.Duration(f * float64(time.Second))
			default:
				return 0, false
			}
		}
	}
	return total, num == ""
}

// reply writes a SOAP response the way Windows shapes it: the response action,
// a fresh MessageID, To anonymous and RelatesTo the request's MessageID.
func reply(w http.ResponseWriter, status int, action, relatesTo, body string) {
	var b strings.Builder
	b.WriteString(`<s:Envelope xml:lang="en-US" xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddr +
		`" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="` + nsWSMan +
		`" xmlns:rsp="` + nsShell + `" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">`)
	b.WriteString(`<s:Header><a:Action>` + action + `</a:Action><a:MessageID>uuid:` +
		strings.ToUpper(uuid.NewString()) + `</a:MessageID><a:To>` + anonymous + `</a:To>`)
	if relatesTo != "" {
		b.WriteString(`<a:RelatesTo>` + xmlEscape(relatesTo) + `</a:RelatesTo>`)
	}
	b.WriteString(`</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
	w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// Fault is a WS-Management fault as Windows reports it: SOAP code and subcode,
// the WSManFault error code and its message.
type Fault struct {
	Code    string // s:Sender or s:Receiver
	Subcode string // w:TimedOut, w:InvalidSelectors, ...
	WSCode  uint32 // WSManFault Code, e.g. 2150858793
	Message string
}

// Faults Windows returns, with their real codes.
var (
	faultTimedOut = Fault{"s:Receiver", "w:TimedOut", 2150858793,
		"The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "}
)

func faultShellNotFound(id string) Fault {
	return Fault{"s:Sender", "w:InvalidSelectors", 2150858843,
		fmt.Sprintf("The request for the Windows Remote Shell with ShellId %s failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. ", id)}
}

func faultCommandNotFound(id string) Fault {
	return Fault{"s:Sender", "w:InvalidParameter", 2150858752,
		fmt.Sprintf("The request for the Windows Remote Shell command with CommandId %s failed because the command was not found. ", id)}
}

func faultAction(action string) Fault {
	return Fault{"s:Sender", "a:ActionNotSupported", 2150858771,
		fmt.Sprintf("The WS-Management service does not support the specified action %q. ", action)}
}

func faultBadRequest(msg string) Fault {
	return Fault{"s:Sender", "w:SchemaValidationError", 2150858817, msg}
}

var faultQuota = Fault{"s:Receiver", "w:QuotaLimit", 2150859174,
	"The WS-Management service cannot process the request. This user is allowed a maximum number of 30 concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. "}

var faultEnvelopeSize = Fault{"s:Sender", "w:EncodingLimit", 2150858919,
	"The WS-Management service cannot process the request because the request size exceeds the maximum envelope size (MaxEnvelopeSizekb). "}

func writeFault(w http.ResponseWriter, machine, relatesTo string, f Fault) {
	body := `<s:Fault><s:Code><s:Value>` + f.Code + `</s:Value><s:Subcode><s:Value>` + f.Subcode +
		`</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">` + xmlEscape(f.Message) +
		`</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="` +
		fmt.Sprint(f.WSCode) + `" Machine="` + xmlEscape(machine) + `"><f:Message>` + xmlEscape(f.Message) +
		`</f:Message></f:WSManFault></s:Detail></s:Fault>`
	reply(w, http.StatusInternalServerError, "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relatesTo, body)
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
