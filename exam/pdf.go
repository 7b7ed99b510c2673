package exam

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/tailab/tailab/internal/atomicfile"
)

// chromiumPath finds headless Chromium: bin when set, else the usual names.
func chromiumPath(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("-o pdf prints through headless Chromium, which is not installed: " +
		"apt-get install chromium (or set TAILAB_CHROMIUM to its path), or write -o html and print it from a browser on A4")
}

// PrintPDF prints an HTML page (a jury record) to the file out with headless
// Chromium (chromium: its path, "" to look for it): a fresh profile, no
// network beyond the local file.
func PrintPDF(ctx context.Context, chromium string, html []byte, out string) error {
	bin, err := chromiumPath(chromium)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tailab-pdf-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "record.html")
	if err := os.WriteFile(in, html, 0o600); err != nil {
		return err
	}
	pdf := filepath.Join(dir, "record.pdf")
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
		"--disable-extensions", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+in)
	output, err := cmd.CombinedOutput()
	data, rerr := os.ReadFile(pdf)
	if err != nil || rerr != nil || !bytes.HasPrefix(data, []byte("%PDF-")) {
		return fmt.Errorf("chromium (%s) did not print the PDF: %v\n%s", bin, errors.Join(err, rerr), lastLines(output, 8))
	}
	return atomicfile.WriteFile(out, data, atomicfile.DefaultPerm)
}

// lastLines keeps the end of a process's output for an error message.
func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
