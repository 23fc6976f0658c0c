package domain

// TerminalStatus reports whether an execution status is final: nothing moves
// an execution out of it, and its execution token stops working.
func TerminalStatus(status string) bool {
	switch status {
	case "completed", "failed", "timeout", "cancelled", "abandoned":
		return true
	}
	return false
}
