package secrets

// HeldBack returns the number of bytes w holds back, for the external
// tests.
func HeldBack(w *RedactWriter) int { return len(w.pend) }

// ReleaseMax is the most bytes of one possible value a job's live line
// release writes.
const ReleaseMax = releaseMax

// Release releases what w holds as a job's stream does after Quiet
// without output, for the external tests.
func Release(w *RedactWriter, max int64) { w.release(max) }
