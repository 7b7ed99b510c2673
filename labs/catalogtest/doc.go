// Package catalogtest proves the real-exam labs of the built-in catalog
// (ccp1-poste, ccp2-infra, ccp3-support), whose Windows and OpenWrt machines
// cannot run here, at the protocol level.
//
// Its tests load and validate each lab and suite, render the candidates'
// sheets, and grade every check through the real probes: each Windows check's
// PowerShell goes through the winrm probe to the WS-Management test server
// (internal/testenv/wsman), where a fake machine answers with the JSON Windows
// PowerShell 5.1's ConvertTo-Json prints for the real cmdlets' objects
// (testdata/SUITE/CHECK.json, one file per check); each OpenWrt check runs over
// SSH on a real sshd whose uci, ubus and nslookup print what an OpenWrt 23.05
// router prints (testdata/openwrt/STATE). Every check must pass on a solved
// payload and fail on an untouched one, both ways; guards must pass on both and
// fail on a broken one.
//
// The package has no code of its own: only tests and their data.
package catalogtest
