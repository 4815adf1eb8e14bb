// Package protocoltest is the conformance suite every cusax plugin must
// pass, in process and over gRPC through go-plugin (the rclone model: one
// suite, every backend, real servers).
//
// A backend's test calls RunIMPP, RunTelephony or RunPolicy with the
// backend (or its go-plugin client) and an environment naming a real
// account to log into.
package protocoltest
