package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/mac"
	"github.com/tink-crypto/tink-go/v2/tink"
)

var (
	// ErrForbidden: the host's authorizer (Config.Authorize) refused the
	// operation. Nothing was changed or revealed.
	ErrForbidden = errors.New("secrets: forbidden")
	// ErrWriteOnly: the secret is write-only: it is injected into jobs but
	// never revealed, whoever asks.
	ErrWriteOnly = errors.New("secrets: write-only secret")
	// ErrAudit: a read that reveals or injects values could not record its
	// audit event, and Config.AuditReads is AuditFailClosed.
	ErrAudit = errors.New("secrets: audit event not recorded")
)

// An Action is what an operation does, as the authorizer and the audit
// trail see it.
type Action string

// The actions. Each Manager method is one of them: List and Versions
// list; Get and GetVersion reveal; Set, SetIf, SetInfo, Rollback and
// Import set; Delete, DeleteIf and DeleteWorkspace delete; Rename
// renames; EnvFor, Command, Run and Redactor inject; Export exports;
// RotateKey, SetKeyEnabled and Rewrap rotate.
const (
	ActionList   Action = "list"
	ActionReveal Action = "reveal"
	ActionSet    Action = "set"
	ActionDelete Action = "delete"
	ActionRename Action = "rename"
	ActionInject Action = "inject"
	ActionExport Action = "export"
	ActionRotate Action = "rotate"
)

// A Request is what the authorizer is asked to allow.
type Request struct {
	Actor     string // from WithActor
	Action    Action
	Workspace string // "" for Rewrap, which spans workspaces
	Names     []string
}

// An Outcome is how an audited operation ended.
type Outcome string

// The outcomes.
const (
	OutcomeOK     Outcome = "ok"
	OutcomeDenied Outcome = "denied" // the authorizer refused
	OutcomeFailed Outcome = "failed" // refused by validation, a conflict, a decryption failure...
)

// An Event is one audited operation. It never holds a value: only names,
// versions and, when the Manager has an AuditKey, keyed fingerprints.
type Event struct {
	ID        int64 // assigned by the Store, increasing
	Time      time.Time
	Actor     string
	Action    Action
	Workspace string
	Secrets   []EventSecret
	Outcome   Outcome
	Detail    string // why it was denied or failed; never a value
}

// EventSecret is one secret an event touched.
type EventSecret struct {
	Name        string
	Version     int64
	Fingerprint []byte // AuditKey.Fingerprint of the value; nil without an AuditKey
}

// LogValue presents an event to log/slog.
func (e Event) LogValue() slog.Value {
	names := make([]string, len(e.Secrets))
	for i, s := range e.Secrets {
		names[i] = fmt.Sprintf("%s@%d", s.Name, s.Version)
	}
	return slog.GroupValue(
		slog.Int64("id", e.ID), slog.Time("time", e.Time), slog.String("actor", e.Actor),
		slog.String("action", string(e.Action)), slog.String("workspace", e.Workspace),
		slog.String("secrets", strings.Join(names, ",")), slog.String("outcome", string(e.Outcome)),
		slog.String("detail", e.Detail))
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

// An EventQuery selects events; zero fields select everything.
type EventQuery struct {
	Workspace   string
	Actor       string
	Action      Action
	From, To    time.Time // From <= Time < To
	Fingerprint []byte    // events that involved a value with this fingerprint
	AfterID     int64     // for paging: events with a greater ID
	Limit       int       // at most this many, oldest first; default 1000
}

func (q EventQuery) matches(e Event) bool {
	if q.Workspace != "" && e.Workspace != q.Workspace || q.Actor != "" && e.Actor != q.Actor ||
		q.Action != "" && e.Action != q.Action || e.ID <= q.AfterID ||
		!q.From.IsZero() && e.Time.Before(q.From) || !q.To.IsZero() && !e.Time.Before(q.To) {
		return false
	}
	if q.Fingerprint == nil {
		return true
	}
	for _, s := range e.Secrets {
		if s.Fingerprint != nil && bytes.Equal(s.Fingerprint, q.Fingerprint) {
			return true
		}
	}
	return false
}

// AuditReads says what happens when a read that reveals or injects values
// cannot record its event.
type AuditReads int

// The modes.
const (
	// AuditBestEffort records every read; a failure to record is passed
	// to Config.OnAuditError and the read goes on. The default.
	AuditBestEffort AuditReads = iota
	// AuditFailClosed makes the read fail with ErrAudit, returning
	// nothing, when its event cannot be recorded.
	AuditFailClosed
	// AuditWritesOnly records no reads; writes and denials are still
	// recorded.
	AuditWritesOnly
)

// An AuditKey computes keyed fingerprints (HMAC-SHA256, through Tink) of
// values, so that the audit trail can answer "which injections used this
// leaked token?" without holding any value. It is a secret: whoever has it
// can test guesses against fingerprints, so keep it apart from the
// database, like the master key.
type AuditKey struct{ mac tink.MAC }

// GenerateAuditKey returns a new audit key, serialized as a Tink JSON
// keyset: key material in the clear, to store as a secret.
func GenerateAuditKey() ([]byte, error) {
	h, err := keyset.NewHandle(mac.HMACSHA256Tag256KeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("secrets: generate audit key: %w", err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("secrets: generate audit key: %w", err)
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
	return &AuditKey{mac: m}, nil
}

// Fingerprint returns the keyed fingerprint of value.
func (k *AuditKey) Fingerprint(value []byte) []byte {
	fp, err := k.mac.ComputeMAC(value)
	if err != nil {
		return nil
	}
	return fp
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

// Events returns audited events that match q, oldest first. It is not
// subject to Config.Authorize: the host decides who may read the audit
// trail.
func (m *Manager) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	return m.store.Events(ctx, q)
}

// event starts an event for the caller of ctx.
func (m *Manager) event(ctx context.Context, action Action, ws string) *Event {
	return &Event{Time: m.now(), Actor: ActorFrom(ctx), Action: action, Workspace: ws, Outcome: OutcomeOK}
}

// written adds a version just sealed to e, with the fingerprint seal
// computed for it.
func written(e *Event, v Version) {
	e.Secrets = append(e.Secrets, EventSecret{Name: v.Name, Version: v.Version, Fingerprint: v.Fingerprint})
}

// touched adds a secret read, and its value's fingerprint, to e.
func (m *Manager) touched(e *Event, name string, version int64, value []byte) {
	es := EventSecret{Name: name, Version: version}
	if value != nil && m.cfg.AuditKey != nil {
		es.Fingerprint = m.cfg.AuditKey.Fingerprint(value)
	}
	e.Secrets = append(e.Secrets, es)
}

// record stores events that are not part of a write (reads, denials,
// failures, key operations) and passes them to OnEvent.
func (m *Manager) record(ctx context.Context, es ...*Event) error {
	events := make([]Event, len(es))
	for i, e := range es {
		events[i] = *e
	}
	// The operation's context may be done (a failure by cancellation is
	// still worth recording).
	err := m.store.Record(context.WithoutCancel(ctx), events)
	if err != nil {
		if m.cfg.OnAuditError != nil {
			m.cfg.OnAuditError(ctx, events, err)
		}
		return fmt.Errorf("%w: %w", ErrAudit, err)
	}
	m.published(ctx, events...)
	return nil
}

// recordRead records a read's event according to Config.AuditReads; a
// non-nil error means the read must fail.
func (m *Manager) recordRead(ctx context.Context, e *Event) error {
	if m.cfg.AuditReads == AuditWritesOnly {
		return nil
	}
	err := m.record(ctx, e)
	if err != nil && m.cfg.AuditReads == AuditFailClosed {
		return err
	}
	return nil
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

// failed records a failed or denied operation and returns err.
func (m *Manager) failed(ctx context.Context, e *Event, err error) error {
	if err == nil || e == nil {
		return err
	}
	e.Outcome = OutcomeFailed
	if errors.Is(err, ErrForbidden) {
		e.Outcome = OutcomeDenied
	}
	e.Detail = err.Error()
	if len(e.Detail) > 500 {
		e.Detail = e.Detail[:500]
	}
	if m.cfg.AuditReads == AuditWritesOnly && (e.Action == ActionReveal || e.Action == ActionInject || e.Action == ActionList || e.Action == ActionExport) && e.Outcome == OutcomeFailed {
		return err
	}
	m.record(ctx, e)
	return err
}

// authorize asks Config.Authorize; a refusal is recorded and returned as
// ErrForbidden.
func (m *Manager) authorize(ctx context.Context, e *Event, names ...string) error {
	if m.cfg.Authorize == nil {
		return nil
	}
	r := Request{Actor: e.Actor, Action: e.Action, Workspace: e.Workspace, Names: names}
	if err := m.cfg.Authorize(ctx, r); err != nil {
		for _, n := range names {
			e.Secrets = append(e.Secrets, EventSecret{Name: n})
		}
		return m.failed(ctx, e, fmt.Errorf("secrets: %q may not %s in workspace %q: %w", e.Actor, e.Action, e.Workspace, errors.Join(ErrForbidden, err)))
	}
	return nil
}
