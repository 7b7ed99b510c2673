//go:build !linux

package gateway

import (
	"errors"
	"net"
)

// listenIn is listenIn of netns_linux.go: elsewhere, only the process's own
// namespace.
func listenIn(nsPath, addr string) (net.Listener, error) {
	if nsPath != "" {
		return nil, errors.New("--listen-netns: network namespaces are Linux's")
	}
	return net.Listen("tcp", addr)
}
