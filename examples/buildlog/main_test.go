package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// leaks are the forms of the workspace's secrets the build prints.
var leaks = []string{
	"tok_live_8c1f5e2a9b",
	base64.StdEncoding.EncodeToString([]byte("ci:tok_live_8c1f5e2a9b")),
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
}

// lineClock records when each line arrives.
type lineClock struct {
	mu    sync.Mutex
	lines []string
	at    []time.Time
	part  string
}

func (c *lineClock) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.part += string(p)
	for {
		line, rest, ok := strings.Cut(c.part, "\n")
		if !ok {
			break
		}
		c.lines, c.at, c.part = append(c.lines, line), append(c.at, time.Now()), rest
	}
	return len(p), nil
}

// The example's promise: the log arrives line by line while the job runs
// (steps 0.4 s apart arrive about 0.4 s apart, not all at the end), and
// no form of a secret is in it.
func TestBuildStreamsMaskedLog(t *testing.T) {
	ctx := context.Background()
	m, err := newManager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var log lineClock
	res, err := build(ctx, m, &log)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	all := strings.Join(log.lines, "\n")
	for _, leak := range leaks {
		if strings.Contains(all, leak) {
			t.Fatalf("the log shows %q:\n%s", leak, all)
		}
	}
	if len(log.lines) != 6 || !strings.Contains(log.lines[1], "token is ***") || !strings.Contains(log.lines[3], "starts with ***") {
		t.Fatalf("log:\n%s", all)
	}
	if gap := log.at[2].Sub(log.at[1]); gap < 300*time.Millisecond {
		t.Fatalf("steps 2 and 3 arrived %v apart: the log is not live", gap)
	}
}

// Over HTTP the first step reaches the client while the build still runs.
func TestBuildStreamsOverHTTP(t *testing.T) {
	m, err := newManager(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(logHandler(m))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString('\n')
	if err != nil || !strings.Contains(first, "step 1") {
		t.Fatalf("first line %q, %v", first, err)
	}
	// The steps after the first sleep 0.4 s each in the job: a handler
	// that waited for the build would send the first line and the end
	// together. Measured between the two, so a slow machine does not
	// fail it.
	firstAt := time.Now()
	var rest strings.Builder
	if _, err := r.WriteTo(&rest); err != nil {
		t.Fatal(err)
	}
	if gap := time.Since(firstAt); gap < 300*time.Millisecond {
		t.Fatalf("the rest came %v after the first line: it waited for the build", gap)
	}
	for _, leak := range leaks {
		if strings.Contains(rest.String(), leak) {
			t.Fatalf("the client got %q", leak)
		}
	}
	if !strings.Contains(rest.String(), "exit status 0") {
		t.Fatalf("log: %s", rest.String())
	}
}
