// Package protocoltest is the conformance suite every cusax plugin must
// pass, in process and over gRPC through go-plugin (the rclone model: one
// suite, every backend, real servers).
//
// A backend's test calls RunIMPP, RunTelephony or RunPolicy with the
// backend (or its go-plugin client) and an Env naming the real accounts
// and servers to use. Besides the contract every backend keeps, the suite
// runs positive tests, named "cap=CAPABILITY/WHAT", for each capability
// the backend declares in its Info: a declared capability that does not
// work fails the suite, and one the Env gives no means to check is skipped,
// naming the missing field, except under CI=true, where it fails. Each run
// ends with one log line per declared capability counting its tests.
package protocoltest
