package secrets_test

import (
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// budget is a workspace's whole environment: the most values one
// Redactor is built for.
const budget = 1 << 20

// maxValue is the longest value the kernel takes (MaxEnvString, less a
// short name).
const maxValue = 128<<10 - 8

// worstValues returns, by name, value sets of budget bytes in total built
// to be expensive: for the old automaton (one state per byte of every
// encoding), for sorting (shared prefixes), for the trie (many short
// values), for lines, for escaping and for replacing invalid UTF-8.
func worstValues() map[string][][]byte {
	rng := mrand.New(mrand.NewPCG(11, 12))
	fill := func(size, n int, gen func(i int, b []byte)) [][]byte {
		var vals [][]byte
		for total := 0; total+size <= budget && len(vals) < n; total += size {
			b := make([]byte, size)
			gen(len(vals), b)
			vals = append(vals, b)
		}
		return vals
	}
	from := func(alphabet string) func(int, []byte) {
		return func(_ int, b []byte) {
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
	}
	randomBytes := func(lo int) func(int, []byte) {
		return func(_ int, b []byte) {
			for i := range b {
				b[i] = byte(lo + rng.IntN(256-lo))
			}
		}
	}
	const printable = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
	const escapes = "\"\\'%+&<>$` \x01\x02\x1b\x7f\t\n"
	many := budget / 8
	return map[string][][]byte{
		"random":       fill(maxValue, many, randomBytes(1)),
		"high-bytes":   fill(maxValue, many, randomBytes(0x80)), // invalid UTF-8: a replaced form 3 times as long
		"base64":       fill(maxValue, many, func(_ int, b []byte) { base64.StdEncoding.Encode(b, randomRaw(rng, len(b)*3/4)) }),
		"short":        fill(6, budget, from(printable)),
		"short-random": fill(6, budget, randomBytes(1)),
		"anchor+3":     fill(9, budget, from(printable)),
		"lines":        fill(maxValue, many, func(_ int, b []byte) { lines(rng, b, 7) }),
		"escapes":      fill(maxValue, many, from(escapes)),
		"shared-prefix": fill(128, budget, func(i int, b []byte) {
			copy(b, strings.Repeat("https://hooks.example.com/", 5))
			copy(b[120:], fmt.Sprintf("%08d", i))
		}),
		"periodic": fill(maxValue, many, func(i int, b []byte) {
			p := 1 + i
			for j := range b {
				b[j] = byte('a' + j%p)
			}
		}),
		"short-lines":   fill(13, budget, func(_ int, b []byte) { randomBytes(0x20)(0, b); b[6] = '\n' }),
		"printable":     fill(maxValue, many, from(printable)),
		"short-invalid": fill(6, budget, func(_ int, b []byte) { randomBytes(0x80)(0, b); b[0] &^= 0x40 }), // continuation bytes: replaced forms 3 times as long
	}
}

func randomRaw(rng *mrand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return b
}

// lines fills b with lines of n-1 printable bytes.
func lines(rng *mrand.Rand, b []byte, n int) {
	for i := range b {
		if i%n == n-1 {
			b[i] = '\n'
		} else {
			b[i] = byte('!' + rng.IntN(94))
		}
	}
}

func totalSize(vals [][]byte) int {
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	return n
}

// buildCost builds a Redactor for vals and returns the bytes allocated
// while building (an upper bound of the peak) and the bytes it retains.
func buildCost(vals [][]byte) (allocated, retained uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := secrets.NewRedactor(vals, nil)
	runtime.ReadMemStats(&after)
	allocated = after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(r)
	if after.HeapAlloc > before.HeapAlloc {
		retained = after.HeapAlloc - before.HeapAlloc
	}
	return allocated, retained
}

// TestRedactBuildMemory: for a whole workspace's budget of values, of any
// shape, building a Redactor allocates (and so holds at its peak) less
// than 16 times the values' size, and the Redactor retains less than
// that.
func TestRedactBuildMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a dozen Redactors at the full budget")
	}
	for name, vals := range worstValues() {
		size := totalSize(vals)
		allocated, retained := buildCost(vals)
		t.Logf("%-14s %7d values of %7d B in all: allocated %5.2fx, retained %5.2fx",
			name, len(vals), size, float64(allocated)/float64(size), float64(retained)/float64(size))
		if allocated > 16*uint64(size) || retained > 16*uint64(size) {
			t.Errorf("%s: allocated %d B and retained %d B for %d B of values", name, allocated, retained, size)
		}
	}
}

// typicalValues returns n tokens of 48 random printable bytes.
func typicalValues(n int) [][]byte {
	rng := mrand.New(mrand.NewPCG(uint64(n), 13))
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = make([]byte, 48)
		for j := range vals[i] {
			vals[i][j] = byte('!' + rng.IntN(94))
		}
	}
	return vals
}

// BenchmarkNewRedactor: building a Redactor for a job, for 10, 100 and
// 1000 typical values and for a full budget of values of each worst
// shape. Besides time and allocation per build it reports the process's
// CPU time per build, the garbage collector's included (cpu-ns/op, where
// the system tells it: on a shared machine ns/op also counts time spent
// waiting for a CPU), what the Redactor retains (retained-B), and
// allocation and retention as multiples of the values' size (alloc-x,
// retained-x).
func BenchmarkNewRedactor(b *testing.B) {
	run := func(name string, vals [][]byte) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0, ok := cpuTime()
			for range b.N {
				secrets.NewRedactor(vals, nil)
			}
			b.StopTimer()
			if cpu1, _ := cpuTime(); ok {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
			allocated, retained := buildCost(vals)
			size := float64(totalSize(vals))
			b.ReportMetric(float64(retained), "retained-B")
			b.ReportMetric(float64(allocated)/size, "alloc-x")
			b.ReportMetric(float64(retained)/size, "retained-x")
		})
	}
	for _, n := range []int{10, 100, 1000} {
		run(fmt.Sprint("typical-", n), typicalValues(n))
	}
	worst := worstValues()
	names := make([]string, 0, len(worst))
	for name := range worst {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		run("budget-"+name, worst[name])
	}
}
