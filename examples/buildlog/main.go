// Command buildlog runs a build for a workspace the way a platform
// backend does, and streams its log live with every secret masked: each
// line is printed with the time it reached the log, so you can watch it
// arrive while the job is still running.
//
//	go run ./examples/buildlog
//	go run ./examples/buildlog -http 127.0.0.1:8080   # then: curl -N http://127.0.0.1:8080/
//
// The job is a shell script (python3 is used if installed) that prints
// its token, a base64 form of it and the first line of a deploy key that
// it gets as a file, the way careless build scripts do; none of it shows.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/dataspace/secrets"
)

func main() {
	addr := flag.String("http", "", "serve the build log over HTTP at this address instead of printing it")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m, err := newManager(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if *addr == "" {
		if _, err := build(ctx, m, os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}
	srv := &http.Server{Addr: *addr, Handler: logHandler(m)}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Printf("streaming builds at http://%s/", *addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// newManager makes a Manager over an in-memory store with the secrets an
// editor saved for the workspace "ws-demo".
func newManager(ctx context.Context) (*secrets.Manager, error) {
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		return nil, err
	}
	cipher, err := secrets.NewLocalCipher(key)
	if err != nil {
		return nil, err
	}
	m, err := secrets.New(secrets.NewMemoryStore(), cipher, nil)
	if err != nil {
		return nil, err
	}
	editor := secrets.WithActor(ctx, "user:alice")
	if _, err := m.Set(editor, "ws-demo", "AUTH_TOKEN", []byte("tok_live_8c1f5e2a9b"), nil); err != nil {
		return nil, err
	}
	deployKey := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"
	if _, err := m.Set(editor, "ws-demo", "DEPLOY_KEY", []byte(deployKey), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		return nil, err
	}
	return m, nil
}

// The build: a few steps a second apart, with the mistakes that leak
// secrets into logs.
const (
	pyScript = `
import base64, os, time
print("step 1: fetching dependencies", flush=True)
time.sleep(0.4)
print("step 2: token is", os.environ["AUTH_TOKEN"], flush=True)
time.sleep(0.4)
print("step 3: header Authorization: Basic", base64.b64encode(("ci:" + os.environ["AUTH_TOKEN"]).encode()).decode(), flush=True)
time.sleep(0.4)
print("step 4: deploy key at", os.environ["DEPLOY_KEY"], "starts with", open(os.environ["DEPLOY_KEY"]).readlines()[1].strip(), flush=True)
print("done", flush=True)
`
	shScript = `
echo "step 1: fetching dependencies"; sleep 0.4
echo "step 2: token is $AUTH_TOKEN"; sleep 0.4
echo "step 3: header Authorization: Basic $(printf 'ci:%s' "$AUTH_TOKEN" | base64)"; sleep 0.4
echo "step 4: deploy key at $DEPLOY_KEY starts with $(sed -n 2p "$DEPLOY_KEY")"
echo done
`
)

// build runs the workspace's build and writes its log to w, each line
// prefixed with the time since the build started.
func build(ctx context.Context, m *secrets.Manager, w io.Writer) (secrets.JobResult, error) {
	job := secrets.Job{Path: "/bin/sh", Args: []string{"-c", shScript}}
	if py, err := exec.LookPath("python3"); err == nil {
		job = secrets.Job{Path: py, Args: []string{"-c", pyScript}}
	}
	log := &stampWriter{w: w, start: time.Now()}
	job.Stdout, job.Stderr = log, log // one writer for both: Run writes it from one goroutine
	res, err := m.Run(ctx, "ws-demo", job)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(w, "[%6.3fs] exit status %d\n", time.Since(log.start).Seconds(), res.ExitCode)
	return res, nil
}

// logHandler streams a build's log to an HTTP client as the job prints it.
func logHandler(m *secrets.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if _, err := build(r.Context(), m, flushWriter{w, http.NewResponseController(w)}); err != nil {
			fmt.Fprintf(w, "build failed: %v\n", err)
		}
	})
}

// flushWriter sends each write to the client at once.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

// stampWriter prefixes each line with the time since start.
type stampWriter struct {
	mu      sync.Mutex
	w       io.Writer
	start   time.Time
	midLine bool
}

func (s *stampWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out bytes.Buffer
	for rest := p; len(rest) > 0; {
		if !s.midLine {
			fmt.Fprintf(&out, "[%6.3fs] ", time.Since(s.start).Seconds())
		}
		line, after, found := bytes.Cut(rest, []byte("\n"))
		out.Write(line)
		if found {
			out.WriteByte('\n')
		}
		s.midLine, rest = !found, after
	}
	if _, err := s.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}
