// Package verifytest runs `tailab verify` on the built-in labs that ship a
// reference solution, against a private libvirtd in its own network namespace
// (scripts/libvirtd-netns.sh), as CI does. The package has no code of its own.
package verifytest
