package secrets

// HeldBack returns the number of bytes w holds back, for the external
// tests.
func HeldBack(w *RedactWriter) int { return len(w.pend) }
