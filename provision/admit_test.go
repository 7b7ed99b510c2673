package provision

import (
	"strings"
	"testing"
)

func TestAdmit(t *testing.T) {
	tests := []struct {
		name         string
		needs, offer Capacity
		want         string
	}{
		{"fits", Capacity{CPUs: 4, MemoryMiB: 1000, DiskMiB: 10}, Capacity{CPUs: 2, MemoryMiB: 2000, DiskMiB: 100}, ""},
		{"vcpu overcommit up to 8x", Capacity{CPUs: 16}, Capacity{CPUs: 2, MemoryMiB: 1}, ""},
		{"too many vcpus", Capacity{CPUs: 17}, Capacity{CPUs: 2}, "CPU: the new machines need 17 vCPUs"},
		{"memory", Capacity{MemoryMiB: 3000}, Capacity{CPUs: 2, MemoryMiB: 2000}, "memory: the new machines need 3000 MiB, the host has 2000 MiB free"},
		{"disk", Capacity{DiskMiB: 50}, Capacity{DiskMiB: 10}, "disk: the new disks may grow to 50 MiB"},
		{"unknown offers admit", Capacity{CPUs: 99, MemoryMiB: 99999}, Capacity{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Admit(&Plan{Needs: tt.needs, Offers: tt.offer})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--force") {
				t.Fatalf("error %v, want %q and a hint at --force", err, tt.want)
			}
		})
	}
}
