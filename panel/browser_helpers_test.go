package panel_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

// The browser tests drive the real page in headless Chromium (Debian's
// chromium package; SECRETS_CHROMIUM names another binary). Without it they
// skip, except when CI is set: then they fail. Screenshots go to each
// test's temporary folder and, if SECRETS_SCREENSHOTS names a folder, there
// too.

// chromium returns the browser binary, or skips or fails the test.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("SECRETS_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Chromium at %s (CI is set, so the browser tests must run): %v", path, err)
		}
		t.Skipf("no Chromium at %s (apt-get install chromium, or set SECRETS_CHROMIUM)", path)
	}
	return path
}

// browserEditors may do everything; every other signed-in actor may only
// list.
var browserEditors = map[string]bool{"user:alice": true, "user:bob": true}

func browserAuthorize(_ context.Context, r secrets.Request) error {
	if browserEditors[r.Actor] || r.Actor != "" && r.Action == secrets.ActionList || r.Actor == "" && r.Action == secrets.ActionAudit {
		return nil // "" reads the audit trail: the tests themselves
	}
	return errors.New("viewers may only list")
}

// site serves the panel over m, mounted as a host would, with every
// request made by actor. It returns the page's URL for workspace ws.
func site(t *testing.T, m *secrets.Manager, actor string) string {
	t.Helper()
	return siteWrapped(t, m, actor, nil)
}

// siteWrapped is site with the panel's handler wrapped in wrap (nil: not
// wrapped), such as to count the requests that reach it.
func siteWrapped(t *testing.T, m *secrets.Manager, actor string, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	return siteAs(t, m, panel.Caller{Actor: actor}, wrap)
}

// siteAs is siteWrapped with every request made by caller (its Workspace
// is the path's).
func siteAs(t *testing.T, m *secrets.Manager, caller panel.Caller, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h, err := panel.New(m, &panel.Config{
		Caller: func(r *http.Request) (panel.Caller, error) {
			c := caller
			c.Workspace = r.PathValue("ws")
			return c, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = h
	if wrap != nil {
		handler = wrap(h)
	}
	srv := httptest.NewServer(mount(handler))
	t.Cleanup(srv.Close)
	return srv.URL + "/w/" + ws + "/secrets/"
}

// browser returns a private browser context of the test's own (cookies,
// storage and cache of its own, gone with the test) in the package's one
// headless Chromium; tabs are contexts made from it. One
// Chromium serves every test: starting one cost 2.5 s of CPU here, a
// browser context 2.1 s (its window loads Chromium's own pages).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	browserSlots <- struct{}{}
	t.Cleanup(func() { <-browserSlots })
	parent, err := theChromium.get(path)
	if err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // makes the browser context
		t.Fatalf("opening a browser context: %v", err)
	}
	return ctx
}

// sharedChromium is the package's Chromium, started by the first test
// that needs it and stopped by TestMain; one that has died is started
// again.
type sharedChromium struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel func()
	dir    string
}

// theChromium is the package's Chromium.
var theChromium sharedChromium

// browserSlots lets two tests at a time use the browser, whatever
// -parallel says: Chromium's pages take the CPU, so more at once only
// slows each, and the tests read notices that leave after 6 seconds.
var browserSlots = make(chan struct{}, 2)

func (c *sharedChromium) get(path string) (context.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil && c.ctx.Err() == nil {
		return c.ctx, nil
	}
	c.stopLocked()
	removeStaleChromiumDirs()
	dir, err := os.MkdirTemp("", chromiumDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1280, 860),
		// Chromium makes its singleton socket's directory under TMPDIR
		// and leaves it when it is killed: under ours, it goes with it.
		chromedp.Env("TMPDIR=" + dir),
	}
	for _, f := range []string{"headless", "no-sandbox", "disable-gpu", "disable-dev-shm-usage", "no-first-run",
		"disable-background-networking", "disable-component-update", "disable-sync"} {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	c.ctx, c.dir = ctx, dir
	c.cancel = func() {
		cancel()
		cancelAlloc()
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		c.stopLocked() // the error that matters is err
		return nil, err
	}
	return ctx, nil
}

// stop ends the Chromium, if one runs, and removes its folder.
func (c *sharedChromium) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked()
}

func (c *sharedChromium) stopLocked() error {
	if c.cancel != nil {
		c.cancel()
	}
	var err error
	if c.dir != "" {
		err = os.RemoveAll(c.dir)
	}
	c.ctx, c.cancel, c.dir = nil, nil, ""
	return err
}

// chromiumDirPrefix starts the name of the shared Chromium's folder, which
// goes on with the test process's ID.
const chromiumDirPrefix = "secrets-panel-chromium-"

// removeStaleChromiumDirs removes the folders that test processes no
// longer running left: one that panics or times out ends before TestMain
// can remove its own. Another run's live folder is left alone.
func removeStaleChromiumDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), chromiumDirPrefix+"*"))
	for _, d := range dirs {
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), chromiumDirPrefix), "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pid)); errors.Is(err, fs.ErrNotExist) {
			os.RemoveAll(d)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := theChromium.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "removing the Chromium's folder:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// A tab is one page of the panel in the browser. It records what would
// show a broken page (exceptions, Content-Security-Policy violations,
// console errors) and every URL the page requests.
type tab struct {
	t   *testing.T
	ctx context.Context

	dir string // screenshots

	mu       sync.Mutex
	problems []string
	urls     []string
	pending  map[network.RequestID]bool // sent, not yet finished or failed
	shots    int
}

// open opens url in a new tab and waits for the list to load.
func open(t *testing.T, browserCtx context.Context, url string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, dir: t.TempDir(), pending: map[network.RequestID]bool{}}
	err := chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			tb.problems = append(tb.problems, "exception: "+ev.ExceptionDetails.Text+" "+describe(ev.ExceptionDetails.Exception))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				tb.problems = append(tb.problems, "console error")
			}
		case *log.EventEntryAdded:
			// Refused API calls (4xx) are logged by the network: they are
			// part of the scenarios. Anything else is a fault.
			if ev.Entry.Source != log.EntrySourceNetwork && (ev.Entry.Level == log.EntryLevelError || ev.Entry.Source == log.EntrySourceSecurity) {
				tb.problems = append(tb.problems, string(ev.Entry.Source)+": "+ev.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			tb.urls = append(tb.urls, ev.Request.URL)
			tb.pending[ev.RequestID] = true
		case *network.EventLoadingFinished:
			delete(tb.pending, ev.RequestID)
		case *network.EventLoadingFailed:
			delete(tb.pending, ev.RequestID)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(url))
	tb.wait(`document.body.dataset.loaded`)
	return tb
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return o.Description
}

// do runs actions, failing the test on an error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page.
func evalIn[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds (from the test's side:
// chromedp's Poll compiles its predicate with new Function, which the
// page's policy forbids, as it should).
func (tb *tab) wait(cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	expr := "Boolean(" + cond + ")"
	for {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.shot("timeout")
			tb.t.Fatalf("timed out waiting for %s (%v); page problems: %v", cond, err, tb.pageProblems())
		}
		time.Sleep(15 * time.Millisecond) // between polls, not a wait for anything
	}
}

// settle waits until every request the page sent has finished.
func (tb *tab) settle() {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tb.mu.Lock()
		n := len(tb.pending)
		tb.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%d requests of the page did not finish", n)
		}
		time.Sleep(15 * time.Millisecond) // between polls, not a wait for anything
	}
}

// click clicks the element that sel selects, once it is visible.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(sel)))
}

// typeInto focuses sel, selects what it holds, and types text over it as
// a person would (key events, so the page sees input events).
func (tb *tab) typeInto(sel, text string) {
	tb.t.Helper()
	tb.do(chromedp.Focus(chromedp.CSS(sel)))
	evalIn[chromedp.Void](tb, fmt.Sprintf(`document.querySelector(%q).select()`, sel))
	tb.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

// key presses one key in the focused element.
func (tb *tab) key(k string) {
	tb.t.Helper()
	tb.do(chromedp.KeyEvent(k))
}

// text returns the visible text of what sel selects ("" if nothing does).
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return evalIn[string](tb, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, sel))
}

// pageHidden reports whether what sel selects is hidden.
func (tb *tab) pageHidden(sel string) bool {
	tb.t.Helper()
	return evalIn[bool](tb, fmt.Sprintf(`document.querySelector(%q).hidden`, sel))
}

func (tb *tab) count(sel string) int {
	tb.t.Helper()
	return evalIn[int](tb, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// shot saves a screenshot of the window as name.png.
func (tb *tab) shot(name string) []byte {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Logf("screenshot %s: %v", name, err)
		return nil
	}
	tb.mu.Lock()
	tb.shots++
	n := tb.shots
	tb.mu.Unlock()
	file := fmt.Sprintf("%s-%02d-%s.png", strings.ReplaceAll(tb.t.Name(), "/", "_"), n, name)
	dirs := []string{tb.dir}
	if d := os.Getenv("SECRETS_SCREENSHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err == nil {
			os.WriteFile(filepath.Join(d, file), png, 0o644)
		}
	}
	return png
}

// pageProblems returns what went wrong in the page so far.
func (tb *tab) pageProblems() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.problems...)
}

// check fails the test if the page broke, or if any URL it requested
// holds one of values.
func (tb *tab) check(values ...string) {
	tb.t.Helper()
	if p := tb.pageProblems(); len(p) > 0 {
		tb.t.Errorf("the page had problems: %q", p)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, u := range tb.urls {
		for _, v := range values {
			if strings.Contains(u, v) {
				tb.t.Errorf("a URL holds a value: %s", u)
			}
		}
	}
}

// escape is the Escape key.
const escape = kb.Escape

// clockedManager returns a Manager for the browser tests whose clock reads
// now (in Unix microseconds), set to t0, two hours ago to the second.
func clockedManager(t *testing.T) (m *secrets.Manager, now *atomic.Int64, t0 time.Time) {
	now = new(atomic.Int64)
	t0 = time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	now.Store(t0.UnixMicro())
	m = newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: browserAuthorize,
		Now: func() time.Time { return time.UnixMicro(now.Load()) }})
	return m, now, t0
}
