package secrets

// QueuedReads is how many read events wait for the next group commit.
func QueuedReads(m *Manager) int {
	m.reads.mu.Lock()
	defer m.reads.mu.Unlock()
	return len(m.reads.queue)
}

// OneRecordPerRead makes m record each read's event with a Store.Record
// of its own, as before group commit: the benchmarks' baseline.
func OneRecordPerRead(m *Manager) { m.oneRecordPerRead = true }
