// Package version holds the project's release version, stamped into the
// "producer" metadata of every table the tools write.
package version

// Version is the project's semantic version.
const Version = "0.1.0"

// Producer names a tool and this version, e.g. "cifar-fetch 0.1.0".
func Producer(tool string) string { return tool + " " + Version }
