// A secret's history (its retained versions, with roll back and, for
// those who may, a look at an old value) and the workspace's activity (the
// audit trail).

import {call, secretPath, etagOf, is} from './api.js';
import {el, bidi, openDrawer, toast, confirm, timeEl, atEl} from './ui.js';
import {state, hooks, can, kind} from './state.js';
import {containerName} from './inherited.js';

// openHistory shows the versions of a secret and its recent activity.
export async function openHistory(meta) {
  const body = el('div', {class: 'history'}, el('p', {class: 'muted', text: 'Loading…'}));
  openDrawer(`History of ${meta.name}`, body);
  await render();

  async function render() {
    let vs;
    try {
      const [m, v] = await Promise.all([call('GET', secretPath(meta.name)), call('GET', secretPath(meta.name, 'versions'))]);
      meta = m.data;
      vs = v.data.versions;
    } catch (p) {
      body.replaceChildren(el('div', {class: 'problem', attrs: {role: 'alert'}, text: p.message}));
      return;
    }
    const intro = meta.write_only
      ? 'This secret is write-only: its values are never shown, but an older one can be made current again.'
      : 'Rolling back makes an older value current again, as a new version: nothing is lost.';
    const list = el('ol', {class: 'versions', attrs: {'aria-label': 'Versions, newest first'}});
    for (const v of vs) list.append(version(v));
    body.replaceChildren(el('p', {class: 'muted', text: intro}), list);
    if (can('events')) body.append(await activity(meta.name, 20));
  }

  function version(v) {
    const li = el('li', {attrs: {'data-version': String(v.version)}},
      el('div', {class: 'head'},
        el('strong', {text: `Version ${v.version}`}),
        v.current ? el('span', {class: 'badge', text: 'current'}) : null,
        v.protected ? el('span', {class: 'badge protected', text: 'protected', title: 'Sealed protected: only protected jobs get it, and rolling back to it makes the secret protected'}) : null,
        el('span', {class: 'muted'}, 'written ', timeEl(v.written), ' by ', bidi(v.written_by || '—'))));
    const acts = el('div', {class: 'actions'});
    if (can('reveal') && !meta.write_only && !meta.deleted) {
      acts.append(el('button', {type: 'button', class: 'small', text: 'Show value', attrs: {'data-act': 'show-version', 'aria-expanded': 'false'},
        on: {click: (e) => showValue(v, li, e.currentTarget)}}));
    }
    if (can('set') && !v.current && !meta.deleted) {
      acts.append(el('button', {type: 'button', class: 'small', text: `Roll back to version ${v.version}`,
        attrs: {'data-act': 'rollback'}, on: {click: () => rollback(v)}}));
    }
    if (acts.children.length) li.append(acts);
    return li;
  }

  async function showValue(v, li, btn) {
    const open = li.querySelector('.shown');
    if (open) {
      open.remove();
      btn.textContent = 'Show value';
      btn.setAttribute('aria-expanded', 'false');
      return;
    }
    try {
      const r = await call('POST', secretPath(meta.name, 'reveal'), {body: {version: v.version}});
      const text = r.data.value_base64 ? '(not text: ' + r.data.value_base64.length + ' base64 characters)' : (r.data.value || '');
      li.append(el('div', {class: 'shown mono', attrs: {'aria-label': `Value of version ${v.version}`}, text}));
      btn.textContent = 'Hide value';
      btn.setAttribute('aria-expanded', 'true');
    } catch (p) {
      toast(p.message, {error: true});
    }
  }

  async function rollback(v) {
    // A version sealed protected makes the secret protected again.
    const protects = v.protected && !meta.protected ? ` Version ${v.version} was protected, so ${meta.name} becomes protected again: only protected jobs get it.` : '';
    const ok = await confirm(`Make the value of version ${v.version} current again? ${meta.name} gets it as version ${meta.version + 1}; builds use it from their next start.${protects}`, 'Roll back');
    if (!ok) return;
    try {
      const r = await call('POST', secretPath(meta.name, 'rollback'), {body: {version: v.version}, ifMatch: etagOf(meta)});
      toast(`Rolled ${meta.name} back to the value of version ${v.version} (now version ${r.data.version}).`);
      hooks.refresh().then(() => hooks.highlight(r.data.name));
    } catch (p) {
      if (is(p, 'ProblemConflict')) {
        toast(`${meta.name} changed while you looked at its history, so nothing was rolled back. The history is up to date now: check it and try again.`, {error: true});
      } else {
        toast(p.message, {error: true});
      }
    }
    await render();
  }
}

// Words for the audit trail's actions: the verb, its object when the
// event names no secret (a function of the event, or words), and the verb
// as a failed or refused event says it ("tried to …").
const inWorkspace = (what) => (e) => [`${what} ${e.workspace === state.me.workspace ? kind() : 'workspace'} `, bidi(e.workspace)];
const verbs = {
  list: ['viewed', 'the list of secrets', 'view'],
  reveal: ['revealed', 'a value', 'reveal'],
  set: ['changed', 'no secret', 'change'],
  diff: ['compared a .env text with', inWorkspace('the values of'), 'compare a .env text with'],
  delete: ['deleted', 'a secret', 'delete'],
  destroy: ['destroyed', 'a secret', 'destroy'],
  rename: ['renamed', 'a secret', 'rename'],
  inject: ['gave a job', 'no secrets', 'give a job'],
  export: ['exported', 'no secrets', 'export'],
  rotate: ['rotated', inWorkspace('the data key of'), 'rotate'],
  'delete-workspace': ['deleted', inWorkspace('the'), 'delete'],
  purge: ['purged', 'secrets deleted past their retention', 'purge'],
  audit: ['read', inWorkspace('the activity of'), 'read'],
};

// A set event of one secret at version 1 with no detail is its creation,
// or a change of the details of a secret still at version 1: the event
// alone cannot tell. It is a creation when the nearest older event that
// names the secret is its destroy, or when there is none in the whole
// trail; maybeCreated marks the events to decide.
const maybeCreated = (e) => e.action === 'set' && e.outcome === 'ok' && !e.detail &&
  (e.secrets || []).length === 1 && e.secrets[0].version === 1;

// activity renders recent events (of one secret, or of the workspace),
// leaving out plain views of the list, with "Show older".
async function activity(name, limit) {
  const section = el('section', {attrs: {'aria-label': 'Activity'}},
    el('h3', {class: 'section', text: name ? 'Recent activity' : 'Changes, reveals, exports and builds, newest first'}));
  const list = el('ul', {class: 'events'});
  const more = el('button', {type: 'button', class: 'small', text: 'Show older', hidden: true});
  section.append(list, more);
  let before = '';
  const shown = []; // {e, li}, newest first
  // label says "created" of the events that the trail read so far shows
  // to be creations.
  const label = () => {
    shown.forEach((s, i) => {
      if (!maybeCreated(s.e) || s.created) return;
      const n = s.e.secrets[0].name;
      const older = shown.slice(i + 1).find((o) => (o.e.secrets || []).some((x) => x.name === n));
      if (older ? older.e.action === 'destroy' : !before) {
        s.created = true;
        const li = event(s.e, true);
        s.li.replaceWith(li);
        s.li = li;
      }
    });
  };
  const page = async () => {
    const q = new URLSearchParams({limit: String(limit)});
    if (name) q.set('name', name);
    if (before) q.set('before', before);
    try {
      const r = await call('GET', 'events?' + q);
      for (const e of r.data.events) {
        if (e.action === 'list' && e.outcome === 'ok') continue;
        const li = event(e, false);
        shown.push({e, li});
        list.append(li);
      }
      before = r.data.next || '';
      more.hidden = !before;
      label();
      if (list.children.length === 0 && !before) list.append(el('li', {class: 'muted', text: 'Nothing yet.'}));
    } catch (p) {
      list.append(el('li', {class: 'failed', text: p.message}));
      more.hidden = true;
    }
  };
  more.addEventListener('click', page);
  await page();
  return section;
}

// marks are the words for the secrets of a job's event that the job did
// not get, with what they mean.
const marks = {
  withheld: 'The host kept it from the job: the job did not get it.',
  ingredient: 'The job did not get it: its value only went into an expanded value the job got.',
};

// quoted is text the host or a user controls (a container, an
// environment), isolated (see bidi) and between quotes, so that one
// holding a comma or a space does not read as two things.
const quoted = (node) => ['“', node, '”'];

// eventSecret is one secret of an event: its name and version, where it
// came from when not the event's workspace (a parent the job inherited
// it from), and whether the job did not get it (withheld, ingredient),
// as the CLI's events table and the library's log lines say.
function eventSecret(e, s) {
  const out = [el('code', {}, bidi(s.name + (s.version ? ` v${s.version}` : '')))];
  if (s.container && s.container !== e.workspace) out.push(' from ', ...quoted(containerName(s.container)));
  const mark = s.withheld ? 'withheld' : s.ingredient ? 'ingredient' : '';
  if (mark) out.push(' ', el('span', {class: `badge ${mark}`, text: mark, title: marks[mark]}));
  return el('span', {class: 'ev-secret', attrs: {'data-name': s.name}}, out);
}

// jobOf says which job an event's was: its environment and whether it was
// protected (null for neither).
function jobOf(e) {
  const parts = [];
  if (e.environment) parts.push(['environment ', ...quoted(bidi(e.environment))]);
  if (e.protected) parts.push(['protected']);
  if (!parts.length) return null;
  return el('span', {class: 'job muted'}, ' (', parts.flatMap((p, i) => (i ? [', ', ...p] : p)), ')');
}

// setWords reads a successful set event's detail: the verb, words after
// its object (a roll back's version, a restore's time) and the flags the
// write turned on or off (the library's notes: "protected off", a roll
// back's "…; protected on", a restore's "…; TOK: protected on"; a backup
// restore's source, "…; a backup that says it is of "ws", made T, sha256
// …"), or null
// for a detail it does not know.
const flag = '(?:protected|write-only|file|expand) (?:on|off)';
const flagsOnly = new RegExp(`^${flag}(?:, ${flag})*$`);
function setWords(detail) {
  let m;
  if (flagsOnly.test(detail)) return {verb: 'changed', after: [], notes: detail};
  if ((m = /^restored(?:; (.*))?$/.exec(detail))) return {verb: 'restored', after: [], notes: m[1]};
  if ((m = /^rolled back to version (\d+)(?:; (.*))?$/.exec(detail))) return {verb: 'rolled back', after: [` to version ${m[1]}`], notes: m[2]};
  if ((m = /^restore to (\S+): [^;]*(?:; (.*))?$/.exec(detail))) return {verb: 'restored', after: [' to ', atEl(m[1])], notes: m[2]};
  if ((m = /^restore: [^;]*(?:; a backup that says it is of ("(?:[^"\\]|\\.)*"|another container), made (\S+), sha256 [0-9a-f]+)?(?:; (.*))?$/.exec(detail))) {
    // The backup's container and time are what the document says.
    const of = m[1] ? [` from a backup that says it is of ${m[1]}, made `, atEl(m[2])] : [' from a backup'];
    return {verb: 'restored', after: of, notes: m[3]};
  }
  return null;
}

// event is one event's line; created says a set event made the secret.
function event(e, created) {
  // A rename names the old name, then the new one.
  const sep = e.action === 'rename' ? ' → ' : ', ';
  const names = (e.secrets || []).flatMap((s, i) => (i ? [sep, eventSecret(e, s)] : [eventSecret(e, s)]));
  const [done, none, tried] = verbs[e.action] || [e.action, '', e.action];
  let verb = done;
  let after = [];
  let notes = '';
  if (e.outcome !== 'ok') {
    verb = `tried to ${tried}`;
  } else if (created) {
    verb = 'created';
  } else if (e.action === 'set' && e.detail) {
    const w = setWords(e.detail);
    if (w) {
      verb = w.verb;
      after = w.after;
      notes = w.notes || '';
    }
  }
  // A page of events lists a bounded number of secrets in all
  // (secrets.MaxEventPageSecrets); the rest of its events come without.
  let object = e.secretsOmitted ? el('span', {class: 'muted', text: 'its secrets (too many on this page to list)'})
    : names.length ? el('span', {class: 'ev-secrets'}, names) : (typeof none === 'function' ? none(e) : none);
  // A workspace's deletion names the workspace, then the secrets it
  // removed.
  if (e.action === 'delete-workspace' && (names.length || e.secretsOmitted)) object = [...none(e), ' with ', object];
  // The detail is data: text, never markup.
  const outcome = e.outcome === 'ok' ? (notes ? el('span', {class: 'flags', text: ` — ${notes}`}) : null)
    : el('span', {class: e.outcome, text: ` — ${e.outcome}${e.detail ? ': ' + e.detail : ''}`});
  return el('li', {},
    el('div', {}, bidi(e.actor || 'someone', {class: 'what'}), ` ${verb} `, object, ...after, jobOf(e), outcome),
    el('div', {class: 'muted'}, timeEl(e.time)));
}

// openActivity shows the workspace's audit trail.
export async function openActivity() {
  const body = el('div', {}, el('p', {class: 'muted', text: 'Loading…'}));
  openDrawer('Activity', body);
  body.replaceChildren(await activity('', 50));
}
