package report

import (
	"bufio"
	"fmt"

	"github.com/tailab/tailab/checks"
	"github.com/tailab/tailab/internal/atomicfile"
)

// WriteFile renders r with f into path atomically: the file appears whole or not at
// all, and an existing file is only replaced once the new one is complete.
func WriteFile(path string, f Formatter, r *checks.Report) error {
	out, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("report %s: %w", f.Name(), err)
	}
	defer out.Abort()
	bw := bufio.NewWriter(out)
	if err := f.Format(bw, r); err != nil {
		return fmt.Errorf("report %s to %q: %w", f.Name(), path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report %s to %q: %w", f.Name(), path, err)
	}
	return out.Commit()
}
