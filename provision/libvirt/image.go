package libvirt

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// image is a VM base image: a qcow2 disk to thin-clone, optionally with a kernel
// and initrd for direct kernel boot (the tiny test guest).
type image struct {
	Name    string
	Disk    string // base qcow2
	Kernel  string
	Initrd  string
	Cmdline string
	Seed    string // per-machine seed ISO (cloud-init / answer file), set at apply
}

// resolveImage finds a base image: an absolute or relative path to a qcow2 file,
// or a name in the image dir — NAME.qcow2, or a directory NAME/ holding
// base.qcow2 and optionally vmlinuz + initrd.gz (+ cmdline).
func resolveImage(imageDir, ref string) (*image, error) {
	if strings.ContainsRune(ref, '/') || strings.HasSuffix(ref, ".qcow2") {
		p, err := filepath.Abs(ref)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("base image %s: %w", ref, err)
		}
		return &image{Name: ref, Disk: p}, nil
	}
	dir := filepath.Join(imageDir, ref)
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		img := &image{Name: ref, Disk: filepath.Join(dir, "base.qcow2")}
		if _, err := os.Stat(img.Disk); err != nil {
			return nil, fmt.Errorf("image %q: %s has no base.qcow2", ref, dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "vmlinuz")); err == nil {
			img.Kernel = filepath.Join(dir, "vmlinuz")
			img.Initrd = filepath.Join(dir, "initrd.gz")
			if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
				img.Cmdline = strings.TrimSpace(string(b))
			}
		}
		return img, nil
	}
	if p := filepath.Join(imageDir, ref+".qcow2"); fileExists(p) {
		return &image{Name: ref, Disk: p}, nil
	}
	return nil, fmt.Errorf("no base image %q in %s (images: %s)", ref, imageDir, strings.Join(listImages(imageDir), ", "))
}

func listImages(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".qcow2"))
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	sort.Strings(out)
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
