// Package releasetest proves that a release works as shipped (issue 19):
// it builds the linux/amd64 snapshot of .goreleaser.yaml
// (scripts/release/snapshot), unpacks the archive in a clean directory and
// runs cusax from there, judges a national-number caller against the test
// bed exactly as a dev build does, and installs the .deb (extracted, and
// with a real dpkg -i / dpkg -r when run as root).
package releasetest
