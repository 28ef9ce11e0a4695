//go:build !amd64 || purego

package kern

// Without amd64 assembly (another architecture, or the purego tag) the
// portable loops serve every call.
func available() []*Backend { return []*Backend{generic} }
