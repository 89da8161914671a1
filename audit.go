package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/mac"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// A Request is what the authorizer is asked to allow.
type Request struct {
	Actor     string // from WithActor
	Action    Action
	Workspace string // "" for Rewrap, RetireMasterKey, DueAll, Purge and Events of every workspace, which span workspaces
	// Names are the secrets concerned, as they are stored (a caller's
	// other spelling is resolved first); a name that is not a valid
	// variable name is left out (it is refused right after). For a job
	// that names its secrets (PrepareOptions.Names), they are the
	// variables as the live secrets of its workspace and parents store
	// them, without a scope: each spelling any level stores (the name as
	// given where none has it). A job that gave PrepareOptions.Names but
	// none valid asks with no names, as a job of every secret does, and is
	// refused right after if allowed.
	Names []string
	// Parents, for a job (ActionInject) of a workspace that inherits, are
	// the containers it inherits from, nearest first (Config.Parents).
	Parents []string
	// Environment and Protected, for a job, are those it runs in and with
	// (PrepareOptions.Environment, Protected).
	Environment string
	Protected   bool
	// Ingredients, for a job whose values reference other secrets (see
	// Info.Expand), are the secrets whose values went into the expanded
	// values (Name with its scope, Version, Container), delivered to the
	// job or not. Such a job asks Config.Authorize a second time, after
	// its read and before it gets anything, with Ingredients set: a host
	// may refuse, say, a group's secret as an ingredient. The first call
	// has none.
	Ingredients []EventSecret
}

// LogValue presents an event to log/slog: each secret as
// EventSecret.String writes it (its name, version, container, and whether
// the job did not get it); a job's environment, protection and parents
// when it has them.
func (e Event) LogValue() slog.Value {
	names := make([]string, len(e.Secrets))
	for i, s := range e.Secrets {
		names[i] = s.String()
	}
	attrs := []slog.Attr{
		slog.Int64("id", e.ID), slog.Time("time", e.Time), slog.String("actor", e.Actor),
		slog.String("action", string(e.Action)), slog.String("workspace", e.Workspace),
		slog.Int64("state", e.State), slog.String("secrets", strings.Join(names, ",")),
		slog.String("outcome", string(e.Outcome)), slog.String("detail", e.Detail),
	}
	if e.Action == ActionInject {
		// An environment is a scope without '*': quoted as a name is.
		env := e.Environment
		if strings.ContainsAny(env, `,"`) {
			env = strconv.Quote(env)
		}
		attrs = append(attrs, slog.String("environment", env), slog.Bool("protected", e.Protected))
	}
	if len(e.Parents) > 0 {
		quoted := make([]string, len(e.Parents))
		for i, p := range e.Parents {
			quoted[i] = strconv.Quote(p)
		}
		attrs = append(attrs, slog.String("parents", strings.Join(quoted, ",")))
	}
	return slog.GroupValue(attrs...)
}

// SlogEvents returns a Config.OnEvent hook that logs each event at Info
// level (Warn when denied or failed).
func SlogEvents(l *slog.Logger) func(context.Context, Event) {
	return func(ctx context.Context, e Event) {
		level := slog.LevelInfo
		if e.Outcome != OutcomeOK {
			level = slog.LevelWarn
		}
		l.LogAttrs(ctx, level, "secrets audit", slog.Any("event", e))
	}
}

// AuditReads says how the event of a read that reveals or injects values
// is recorded, and what happens when it cannot be.
type AuditReads int

// The modes. In AuditFailClosed (the default), a read that reveals or
// injects values returns none before its event is committed durably
// (flushed by the database). AuditBestEffort does the same when the event
// can be recorded, and returns the values without it when it cannot;
// AuditRelaxed does not wait for the flush; AuditWritesOnly records no
// read.
const (
	// AuditFailClosed records every read durably, and makes a read that
	// reveals or injects values (a reveal, a job, an export, a diff) fail
	// with ErrAudit, returning nothing, when its event cannot be recorded;
	// a listing goes on and Config.OnAuditError gets its event. The
	// default.
	AuditFailClosed AuditReads = iota
	// AuditBestEffort records every read durably; a failure to record is
	// passed to Config.OnAuditError and the read goes on, returning its
	// values without a recorded event.
	AuditBestEffort
	// AuditWritesOnly records no reads; writes and denials are still
	// recorded.
	AuditWritesOnly
	// AuditRelaxed records every read as AuditBestEffort does, but an
	// injection's event is committed without waiting for the database to
	// flush it: faster, and lost if the database crashes (or fails over
	// to a standby that had not received it) right after.
	AuditRelaxed
)

// An AuditKey computes keyed fingerprints (HMAC-SHA256, through Tink) of
// values, so that the audit trail can answer "which injections used this
// leaked token?" without holding any value. It is a secret: whoever has it
// can test guesses against fingerprints, so keep it apart from the
// database, like the master key. Its keyset may be rotated (a new primary
// key, the former ones kept enabled): fingerprints are made with the
// primary, and Fingerprints gives a value's under every enabled key, which
// a search after a rotation needs (values written before it keep their
// former fingerprints in the trail).
type AuditKey struct {
	mac tink.MAC   // the primary key's
	all []tink.MAC // every enabled key's, the primary's first
}

// GenerateAuditKey returns a new audit key, serialized as a Tink JSON
// keyset: key material in the clear, to store as a secret.
func GenerateAuditKey() ([]byte, error) {
	h, err := keyset.NewHandle(mac.HMACSHA256Tag256KeyTemplate())
	if err != nil {
		return nil, wrapf(err, "generate audit key")
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, wrapf(err, "generate audit key")
	}
	return buf.Bytes(), nil
}

// NewAuditKey loads an audit key from a Tink JSON keyset such as
// GenerateAuditKey returns. Errors never include the keyset.
func NewAuditKey(keysetJSON []byte) (*AuditKey, error) {
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(keysetJSON)))
	if err != nil {
		return nil, errors.New("secrets: audit key is not a valid Tink JSON keyset")
	}
	m, err := mac.New(h)
	if err != nil {
		return nil, errors.New("secrets: audit key keyset holds no usable MAC key")
	}
	k := &AuditKey{mac: m, all: []tink.MAC{m}}
	info := h.KeysetInfo()
	for _, ki := range info.GetKeyInfo() {
		if ki.GetKeyId() == info.GetPrimaryKeyId() || ki.GetStatus() != tinkpb.KeyStatusType_ENABLED {
			continue
		}
		// The same keyset with this key as primary: Tink's MAC computes
		// with the primary only.
		km := keyset.NewManagerFromHandle(h)
		if err := km.SetPrimary(ki.GetKeyId()); err != nil {
			return nil, errors.New("secrets: audit key keyset holds a key that cannot be used")
		}
		kh, err := km.Handle()
		if err != nil {
			return nil, errors.New("secrets: audit key keyset holds a key that cannot be used")
		}
		km2, err := mac.New(kh)
		if err != nil {
			return nil, errors.New("secrets: audit key keyset holds a key that cannot be used")
		}
		k.all = append(k.all, km2)
	}
	return k, nil
}

// Fingerprint returns the keyed fingerprint of value, by the keyset's
// primary key.
func (k *AuditKey) Fingerprint(value []byte) []byte {
	fp, err := k.mac.ComputeMAC(value)
	if err != nil {
		return nil
	}
	return fp
}

// Fingerprints returns value's fingerprint by every enabled key of the
// keyset, the primary's first: for EventQuery.Fingerprints.
func (k *AuditKey) Fingerprints(value []byte) [][]byte {
	out := make([][]byte, 0, len(k.all))
	for _, m := range k.all {
		if fp, err := m.ComputeMAC(value); err == nil {
			out = append(out, fp)
		}
	}
	return out
}

// Format prints no key material.
func (k *AuditKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, "secrets.AuditKey") }

// Fingerprint returns the fingerprint the Manager's AuditKey gives value,
// for EventQuery.Fingerprint; nil without an AuditKey.
func (m *Manager) Fingerprint(value []byte) []byte {
	if m.cfg.AuditKey == nil {
		return nil
	}
	return m.cfg.AuditKey.Fingerprint(value)
}

// Fingerprints returns value's fingerprints by every enabled key of the
// Manager's AuditKey (AuditKey.Fingerprints), for EventQuery.Fingerprints:
// after a rotation of the AuditKey's keyset, a search for a value needs
// them all. nil without an AuditKey.
func (m *Manager) Fingerprints(value []byte) [][]byte {
	if m.cfg.AuditKey == nil {
		return nil
	}
	return m.cfg.AuditKey.Fingerprints(value)
}

// Events returns audited events that match q, oldest first (newest first
// with q.Newest). Inject and export events list the secrets they
// delivered, with their fingerprints, from the Store's ledger. It is
// authorized as ActionAudit, with q.Workspace ("" for a query of every
// workspace); a refusal is recorded, a read of the trail is not. An
// invalid q.Workspace (but ""), q.Name or q.Actor, which no event can
// hold, is refused after authorization (ErrInvalidWorkspace,
// ErrInvalidName, ErrInvalidActor).
//
// A fingerprint search first gives fingerprints to the ledger entries of
// retained versions that have none (values written before the AuditKey
// was configured), in q.Workspace or, without one, in every workspace,
// when the Store is a FingerprintStore: it finds every injection of the
// value, also of versions pruned or destroyed since, as long as the value
// had a fingerprint, or was still retained when the search first ran.
// An event that lists its own secrets (a job with parents, names, an
// environment or protection, or of a Manager with Withhold or
// ExpiredOmit; an export; a backup) keeps the fingerprints known when it
// was recorded: one recorded before the AuditKey was configured is found
// by name (q.Name), not by fingerprint.
func (m *Manager) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	e := m.event(ctx, ActionAudit, q.Workspace)
	if err := m.authorize(ctx, e); err != nil {
		return nil, err
	}
	// Filters no event can match are refused as the calls that write them
	// would refuse them (Postgres refused NUL and invalid UTF-8 with a
	// driver error, the memory store matched nothing).
	if q.Workspace != "" {
		if err := validWorkspace(q.Workspace); err != nil {
			return nil, err
		}
	}
	if !utf8.ValidString(q.Name) || strings.ContainsRune(q.Name, 0) {
		return nil, errorf(ErrInvalidName, "a name to find events by is UTF-8 without NUL")
	}
	if err := validActor(q.Actor); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	if q.Fingerprint != nil || len(q.Fingerprints) > 0 {
		if err := m.fingerprintLedger(ctx, q.Workspace); err != nil {
			return nil, err
		}
	}
	return m.store.Events(ctx, q)
}

// fingerprintLedger fingerprints the retained versions whose ledger
// entries have no fingerprint.
func (m *Manager) fingerprintLedger(ctx context.Context, ws string) error {
	fs, ok := m.store.(FingerprintStore)
	if !ok || m.cfg.AuditKey == nil {
		return nil
	}
	var after Version
	for {
		vs, err := fs.Unfingerprinted(ctx, UnfingerprintedQuery{Workspace: ws, AfterWorkspace: after.Workspace, AfterSecretID: after.SecretID, AfterVersion: after.Version, Limit: rotateBatch})
		if err != nil || len(vs) == 0 {
			return err
		}
		after = vs[len(vs)-1]
		var done []Version
		for _, v := range vs {
			k, err := m.keyFor(ctx, v.Workspace, v.KeyGen)
			if err != nil {
				continue // unreadable now: it stays without a fingerprint
			}
			p, err := k.open(&v)
			if err != nil {
				continue
			}
			done = append(done, Version{Workspace: v.Workspace, SecretID: v.SecretID, Version: v.Version, Fingerprint: m.Fingerprint(p)})
			clear(p)
		}
		if err := fs.SetFingerprints(ctx, done); err != nil {
			return err
		}
	}
}

// event starts an event for the caller of ctx.
func (m *Manager) event(ctx context.Context, action Action, ws string) *Event {
	return &Event{Time: m.now(), Actor: ActorFrom(ctx), Action: action, Workspace: ws, Outcome: OutcomeOK}
}

// record stores events that are not part of a write (reads, denials,
// failures, key operations) and passes them to OnEvent.
func (m *Manager) record(ctx context.Context, es ...*Event) error {
	events := make([]Event, len(es))
	for i, e := range es {
		events[i] = *e
	}
	// The operation's context may be done (a failure by cancellation is
	// still worth recording): see recordContext.
	rctx, done := recordContext(ctx)
	err := m.store.Record(rctx, events)
	done()
	if err != nil {
		if m.cfg.OnAuditError != nil {
			m.cfg.OnAuditError(ctx, events, err)
		}
		return &failure{class: ErrAudit, msg: "audit event not recorded", cause: err}
	}
	for i, e := range es {
		e.ID = events[i].ID // OnEvent and the caller see the Store's IDs
	}
	m.published(ctx, events...)
	return nil
}

// unrecorded is err, the failure to record the event of a change already
// made (a key change or a purge, whose event is recorded right after it,
// not with it), said as such: it matches ErrAudit, and the change stays.
func unrecorded(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return wrapf(err, format+", but its audit event was not recorded", args...)
}

// recordRead records a read's event according to Config.AuditReads; a
// non-nil error means the read must fail. The event is group-committed
// with those of concurrent reads (recordBatched): a caller whose ctx is
// done before its event is durable gets ctx's error in every mode.
func (m *Manager) recordRead(ctx context.Context, e *Event) error {
	if m.cfg.AuditReads == AuditWritesOnly {
		return nil
	}
	var err error
	if m.oneRecordPerRead {
		err = m.record(ctx, e)
	} else {
		err = m.recordBatched(ctx, e)
	}
	if err != nil && (m.cfg.AuditReads == AuditFailClosed || !errors.Is(err, ErrAudit)) {
		return err
	}
	return nil
}

// listed records a read that revealed no value (unless Config says not
// to); it never fails the read.
func (m *Manager) listed(ctx context.Context, e *Event) {
	if m.cfg.AuditReads != AuditWritesOnly && !m.cfg.UnauditedLists {
		m.record(ctx, e)
	}
}

// published hands recorded events to OnEvent.
func (m *Manager) published(ctx context.Context, events ...Event) {
	if m.cfg.OnEvent == nil {
		return
	}
	for _, e := range events {
		m.cfg.OnEvent(ctx, e)
	}
}

// failed records a failed or denied operation and returns err. A denial
// that authorize recorded already is not recorded again.
func (m *Manager) failed(ctx context.Context, e *Event, err error) error {
	var q *quietError
	if errors.As(err, &q) {
		// A refusal, or a hook that could not decide (recorded as failed,
		// not denied), of this event or another (an unprotect within a
		// set): authorize recorded it (a trial found each unavailable
		// write recorded twice).
		return err
	}
	if err == nil || e == nil || e.Outcome == OutcomeDenied || errors.Is(err, ErrInvalidActor) {
		return err // an invalid actor cannot be recorded: nothing happened
	}
	e.Outcome = OutcomeFailed
	e.Detail = truncateUTF8(detail(err), maxDetail)
	reads := e.Action == ActionReveal || e.Action == ActionInject || e.Action == ActionList || e.Action == ActionExport || e.Action == ActionDiff
	if m.cfg.AuditReads == AuditWritesOnly && reads {
		return err
	}
	m.record(ctx, e)
	return err
}

// voidedNote says, in the event of a job that got nothing after its read,
// that the read's event id stays and what it lists.
func voidedNote(id int64) string {
	return fmt.Sprintf("inject event %d, recorded with the read, lists what the job would have got: it got nothing", id)
}

// authorize asks Config.Authorize; a refusal is recorded and returned as
// ErrForbidden.
func (m *Manager) authorize(ctx context.Context, e *Event, names ...string) error {
	if err := validActor(e.Actor); err != nil {
		return err
	}
	if m.cfg.Authorize == nil {
		return nil
	}
	err := m.cfg.Authorize(ctx, m.request(e, names))
	if err == nil {
		return nil
	}
	e.Secrets = nil
	for _, n := range names {
		e.Secrets = append(e.Secrets, EventSecret{Name: n})
	}
	e.Outcome = OutcomeDenied
	refusal := refusalOf(err)
	if refusal.unavailable {
		e.Outcome = OutcomeFailed
	}
	refused := refusal.error(e.Actor, e.Action, e.Workspace, err)
	e.Detail = truncateUTF8(detail(refused), maxDetail) // the public reason, never the cause
	m.record(ctx, e)
	return refused
}

// A Refusal is an error that Config.Authorize returns to say more than
// "no". Reason, if not empty, is shown to the caller: it ends the message
// of the ErrForbidden (or ErrUnavailable) error, the panel's problem and
// the denial's event. Cause is private: never in the returned error's
// message nor in the event (which the panel's Activity view shows to
// whoever may read events); for the host's own logs, errors.As finds the
// hook's *Refusal (with its Cause) in the returned error and
// errors.Unwrap gives the hook's error text, and the panel gives the cause
// to its Logger. The returned error matches only ErrForbidden (or
// ErrUnavailable), whatever the Cause wraps: errors.Is does not reach the
// Cause, so a hook's wrapped ErrNotFound never reads as "no such secret".
// Unavailable says that the hook could not decide (a role service that is
// down): the call fails with ErrUnavailable instead of ErrForbidden, and
// the panel answers 503. Any other error the hook returns refuses as a
// Refusal without a Reason does: its text is neither shown nor recorded.
type Refusal struct {
	Reason      string // shown to the caller and recorded; "" for none
	Cause       error  // private: for the host's logs only
	Unavailable bool   // the hook could not decide: ErrUnavailable, not ErrForbidden
}

// Error returns the reason and the cause, for the host's own logs.
func (r *Refusal) Error() string {
	switch {
	case r.Cause == nil:
		return r.Reason
	case r.Reason == "":
		return r.Cause.Error()
	}
	return r.Reason + ": " + r.Cause.Error()
}

// Unwrap returns the cause.
func (r *Refusal) Unwrap() error { return r.Cause }

// refusal is what authorize makes of the hook's error.
type refusal struct {
	reason      string
	unavailable bool
	hook        *Refusal
}

func refusalOf(err error) refusal {
	var r *Refusal
	if errors.As(err, &r) {
		return refusal{reason: oneLine(r.Reason), unavailable: r.Unavailable || errors.Is(r.Cause, ErrUnavailable), hook: r}
	}
	return refusal{unavailable: errors.Is(err, ErrUnavailable)}
}

// error is the error a caller sees: the refusal in the library's words and
// the public reason, with the hook's error (classes stripped) as the cause
// for errors.Unwrap but never in the message.
func (r refusal) error(actor string, action Action, ws string, hookErr error) error {
	if r.unavailable {
		msg := fmt.Sprintf("cannot tell whether %q may %s in workspace %q", actor, action, ws)
		if r.reason != "" {
			msg += ": " + r.reason
		}
		return &quietError{failure{class: ErrUnavailable, msg: msg + ": try again", cause: plain(hookErr)}, r.hook}
	}
	msg := fmt.Sprintf("%q may not %s in workspace %q", actor, action, ws)
	if r.reason != "" {
		msg += ": " + r.reason
	}
	return &quietError{failure{class: ErrForbidden, msg: msg, cause: plain(hookErr)}, r.hook}
}

// A quietError is a failure whose message leaves its cause out; hook is
// the Refusal the hook returned, if any.
type quietError struct {
	failure
	hook *Refusal
}

// Error returns "secrets: " and the message, without the cause.
func (e *quietError) Error() string { return "secrets: " + e.msg }

// As finds the hook's Refusal for errors.As, which Unwrap does not reach
// (so that errors.Is never matches what its Cause wraps).
func (e *quietError) As(target any) bool {
	if p, ok := target.(**Refusal); ok && e.hook != nil {
		*p = e.hook
		return true
	}
	return false
}

// request is what the authorizer is asked about event e.
func (m *Manager) request(e *Event, names []string) Request {
	return Request{Actor: e.Actor, Action: e.Action, Workspace: e.Workspace, Names: names, Parents: e.Parents,
		Environment: e.Environment, Protected: e.Protected}
}

// plain keeps an error's text but none of its classes, so that a host's
// refusal that wraps, say, ErrNotFound matches only ErrForbidden.
func plain(err error) error { return errors.New(detail(err)) }

// HasAuthorize reports whether the Manager has a Config.Authorize hook.
// Without one every call is allowed, which suits a host that decides
// upstream who may call the Manager, and not a page that serves every
// signed-in user: panel.New refuses such a Manager unless told otherwise.
func (m *Manager) HasAuthorize() bool { return m.cfg.Authorize != nil }

// Allowed asks Config.Authorize whether the caller (ActorFrom(ctx)) may do
// action in the workspace, on names if any, and records nothing: for a
// user interface deciding which controls to show. It protects nothing by
// itself: every call asks the hook again. It returns nil, an error
// matching ErrForbidden, or one matching ErrUnavailable when the hook
// could not decide (a user interface then cannot tell which controls to
// show: the panel answers 503). An invalid workspace or name is refused
// before the hook is asked (ErrInvalidWorkspace, ErrInvalidName, the name
// not quoted, or ErrInvalidScope for a bad scope after its '@'), as every
// other call refuses it.
func (m *Manager) Allowed(ctx context.Context, ws string, action Action, names ...string) error {
	actor := ActorFrom(ctx)
	if err := validActor(actor); err != nil {
		return err
	}
	if err := validWorkspace(ws); err != nil {
		return err
	}
	for _, n := range names {
		if err := validSyntax(n, m.cfg.MaxNameLength); err != nil {
			return err
		}
	}
	if m.cfg.Authorize == nil {
		return nil
	}
	if err := m.cfg.Authorize(ctx, Request{Actor: actor, Action: action, Workspace: ws, Names: names}); err != nil {
		return refusalOf(err).error(actor, action, ws, err)
	}
	return nil
}
