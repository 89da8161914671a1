// Package ahocorasick finds every occurrence of many byte patterns in a
// stream, one byte at a time, with its state carried between calls, so a
// match split across writes is still found.
//
// It reports, for each position, the length of the longest pattern ending
// there: what a redactor needs to mask the union of all matches.
//
// States are numbered in breadth-first order. The shallowest ones (where a
// scan spends nearly all its time) get a full 256-entry transition row, so
// a step is one table lookup; deeper states keep sorted edge lists and
// failure links, which keeps memory proportional to the patterns.
package ahocorasick

import "slices"

// denseStates bounds the states with full transition rows: 1024 rows of
// 256 int32 are 1 MiB.
const denseStates = 1024

const outputFlag = -1 << 31

// A Matcher is an immutable automaton; it is safe for concurrent use.
// Matching state lives in a State value owned by the caller.
type Matcher struct {
	// dense[s][c] is the transition from s < nDense on c, with the
	// outputFlag bit set when the target ends a pattern: the common case,
	// no match, then costs one load.
	dense  [][256]int32
	nDense int32

	// Edges of each state, sorted by byte: state s has edges
	// edgeBytes[edgeStart[s]:edgeStart[s+1]].
	edgeStart []int32
	edgeBytes []byte
	edgeNext  []int32

	fail   []int32 // failure link of each state
	outLen []int32 // longest pattern that is a suffix of the state's string; 0 if none
	maxLen int
}

// State is the position of a match in progress. The zero State is the
// start.
type State int32

// New builds a matcher for patterns; empty patterns are ignored.
func New(patterns [][]byte) *Matcher {
	// The trie, in insertion order: one map for all edges, and child
	// lists threaded through arrays.
	total := 1
	for _, p := range patterns {
		total += len(p)
	}
	edges := make(map[uint64]int32, total)
	firstChild := make([]int32, 1, total)
	nextSibling := make([]int32, 1, total)
	label := make([]byte, 1, total)
	out := make([]int32, 1, total)
	maxLen := 0
	for _, p := range patterns {
		if len(p) == 0 {
			continue
		}
		maxLen = max(maxLen, len(p))
		s := int32(0)
		for _, c := range p {
			key := uint64(s)<<8 | uint64(c)
			n, ok := edges[key]
			if !ok {
				n = int32(len(label))
				edges[key] = n
				label = append(label, c)
				out = append(out, 0)
				firstChild = append(firstChild, -1)
				nextSibling = append(nextSibling, firstChild[s])
				firstChild[s] = n
			}
			s = n
		}
		out[s] = max(out[s], int32(len(p)))
	}
	if len(label) == 1 {
		firstChild[0] = -1
	}
	n := len(label)

	// Renumber breadth-first.
	order := make([]int32, 0, n) // new -> old
	newID := make([]int32, n)    // old -> new
	order = append(order, 0)
	var kids []int32
	for i := 0; i < len(order); i++ {
		kids = kids[:0]
		for k := firstChild[order[i]]; k > 0; k = nextSibling[k] {
			kids = append(kids, k)
		}
		slices.SortFunc(kids, func(a, b int32) int { return int(label[a]) - int(label[b]) })
		for _, k := range kids {
			newID[k] = int32(len(order))
			order = append(order, k)
		}
	}

	m := &Matcher{
		edgeStart: make([]int32, n+1),
		edgeBytes: make([]byte, 0, n-1),
		edgeNext:  make([]int32, 0, n-1),
		fail:      make([]int32, n),
		outLen:    make([]int32, n),
		maxLen:    maxLen,
		nDense:    int32(min(n, denseStates)),
	}
	for s, old := range order {
		m.edgeStart[s] = int32(len(m.edgeBytes))
		start := len(m.edgeBytes)
		for k := firstChild[old]; k > 0; k = nextSibling[k] {
			m.edgeBytes = append(m.edgeBytes, label[k])
			m.edgeNext = append(m.edgeNext, newID[k])
		}
		// Children were numbered in byte order, so sorting by target
		// sorts by byte.
		sortEdges(m.edgeBytes[start:], m.edgeNext[start:])
		m.outLen[s] = out[old]
	}
	m.edgeStart[n] = int32(len(m.edgeBytes))

	// Failure links, outputs and dense rows, in breadth-first order: each
	// state's failure target comes before it.
	m.dense = make([][256]int32, m.nDense)
	for s := int32(0); s < int32(n); s++ {
		if s < m.nDense && s > 0 {
			m.dense[s] = m.dense[m.fail[s]]
		}
		for e := m.edgeStart[s]; e < m.edgeStart[s+1]; e++ {
			c, child := m.edgeBytes[e], m.edgeNext[e]
			if s > 0 {
				m.fail[child] = m.step(m.fail[s], c)
			}
			m.outLen[child] = max(m.outLen[child], m.outLen[m.fail[child]])
			if s < m.nDense {
				m.dense[s][c] = child
			}
		}
	}
	for r := range m.dense {
		for c, t := range m.dense[r] {
			if m.outLen[t] != 0 {
				m.dense[r][c] = t | outputFlag
			}
		}
	}
	return m
}

// sortEdges sorts a state's edges by target, in place: an insertion sort,
// as nearly every state has one or two edges.
func sortEdges(bs []byte, next []int32) {
	for i := 1; i < len(next); i++ {
		for j := i; j > 0 && next[j] < next[j-1]; j-- {
			next[j], next[j-1] = next[j-1], next[j]
			bs[j], bs[j-1] = bs[j-1], bs[j]
		}
	}
}

// MaxLen returns the length of the longest pattern.
func (m *Matcher) MaxLen() int { return m.maxLen }

// step is the automaton's transition from s on c.
func (m *Matcher) step(s int32, c byte) int32 {
	for s >= m.nDense {
		for e := m.edgeStart[s]; e < m.edgeStart[s+1]; e++ {
			if m.edgeBytes[e] == c {
				return m.edgeNext[e]
			}
		}
		s = m.fail[s]
	}
	return m.dense[s][c] &^ outputFlag
}

// Scan feeds b to the automaton from state st. For each byte b[i] that
// ends a match, it calls found(i, n) with n the length of the longest
// pattern ending there. It returns the state after b.
func (m *Matcher) Scan(st State, b []byte, found func(i, n int)) State {
	s := int32(st)
	dense, outLen, nDense := m.dense, m.outLen, m.nDense
	root := &m.dense[0]
	for i := 0; i < len(b); i++ {
		if s == 0 {
			// At the root, a byte that starts no pattern leaves it there:
			// skip such bytes without the dependent table walk.
			for i < len(b) && root[b[i]] == 0 {
				i++
			}
			if i == len(b) {
				break
			}
		}
		c := b[i]
		if s < nDense {
			s = dense[s][c]
			if s >= 0 {
				continue
			}
			s &^= outputFlag
		} else {
			s = m.step(s, c)
		}
		if n := outLen[s]; n != 0 {
			found(i, int(n))
		}
	}
	return State(s)
}
