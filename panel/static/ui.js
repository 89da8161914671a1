// DOM helpers shared by the panel's views. The page never turns a string
// into HTML: every node is made here with createElement and text nodes
// (the Content-Security-Policy enforces it with Trusted Types).

// el makes an element. props: class, text, attrs (an object of attributes),
// on (an object of event handlers), and any DOM property (hidden, type,
// value, disabled...). Children are nodes or strings (as text).
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'attrs') for (const [a, av] of Object.entries(v)) e.setAttribute(a, av);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e[k] = v;
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

// Text the host or a user controls (an actor, a level's name, a
// description) may hold bidi controls: a right-to-left override would
// reorder the page's own words after it. bidi holds such text in a <bdi>,
// which isolates it; iso does the same in plain text (a sentence of a
// notice, a title) with FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE.
// Both drop a POP DIRECTIONAL ISOLATE with no isolate of the text's own
// to end: it would end the isolate around the text early.
export const bidi = (text, props = {}) => el('bdi', {...props, text: balanced(text)});
export const iso = (text) => '\u2068' + balanced(text) + '\u2069';

function balanced(text) {
  let open = 0;
  let out = '';
  for (const c of String(text)) {
    if (c === '\u2066' || c === '\u2067' || c === '\u2068') open++;
    else if (c === '\u2069') {
      if (open === 0) continue;
      open--;
    }
    out += c;
  }
  return out;
}

// $ finds one element by selector, in root or the document.
export const $ = (sel, root = document) => root.querySelector(sel);

// clone returns a copy of a <template>'s first element.
export function clone(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

// Times. The API speaks RFC 3339 in UTC; the page shows local dates and
// relative times ("3 minutes ago"), with the exact time as a tooltip.
const rel = new Intl.RelativeTimeFormat(undefined, {numeric: 'auto'});
const dateFmt = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeZone: 'UTC'});
const fullFmt = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'});

export function ago(iso) {
  const s = (Date.parse(iso) - Date.now()) / 1000;
  if (Math.abs(s) < 45) return 'just now';
  const steps = [[3600, 'minute', 60], [86400, 'hour', 3600], [86400 * 30, 'day', 86400], [86400 * 365, 'month', 86400 * 30]];
  for (const [limit, unit, div] of steps) {
    if (Math.abs(s) < limit) return rel.format(Math.round(s / div), unit);
  }
  return rel.format(Math.round(s / (86400 * 365)), 'year');
}

export function timeEl(iso) {
  if (!iso) return el('span', {class: 'muted', text: '—'});
  return el('time', {attrs: {datetime: iso, title: fullFmt.format(new Date(iso))}, text: ago(iso)});
}

// atEl is a time the page names as such (a restore's "to …"): its local
// date and time in full, or the text as it came if it is not a time.
export function atEl(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return bidi(iso);
  return el('time', {attrs: {datetime: iso}, text: fullFmt.format(t)});
}

// day is a date for humans ("Mar 3, 2031"), in UTC like the dates editors set.
export const day = (iso) => dateFmt.format(new Date(iso));

// badges are the labels of a secret in the list: protected, expands, write-only, file, and
// expiry or rotation when due within dueMs (or past).
export function badges(m, dueMs) {
  const out = [];
  const now = Date.now();
  if (m.deleted) out.push(el('span', {class: 'badge deleted', text: 'deleted ' + ago(m.deleted)}));
  if (m.protected) out.push(el('span', {class: 'badge protected', text: 'protected', title: 'Only protected jobs get it'}));
  if (m.expand) out.push(el('span', {class: 'badge expand', text: 'expands', title: 'Jobs get it with its ${…} references expanded'}));
  if (m.write_only) out.push(el('span', {class: 'badge wo', text: 'write-only', title: 'Injected into builds, never revealed'}));
  if (m.file) out.push(el('span', {class: 'badge file', text: 'file', title: 'Delivered to jobs as a file'}));
  if (m.expires) {
    const t = Date.parse(m.expires);
    if (t <= now) out.push(el('span', {class: 'badge expired', text: 'expired ' + day(m.expires)}));
    else if (t - now <= dueMs) out.push(el('span', {class: 'badge soon', text: 'expires ' + ago(m.expires)}));
  }
  if (m.rotate_by) {
    const t = Date.parse(m.rotate_by);
    if (t <= now) out.push(el('span', {class: 'badge expired', text: 'rotation overdue'}));
    else if (t - now <= dueMs) out.push(el('span', {class: 'badge soon', text: 'rotate ' + ago(m.rotate_by)}));
  }
  return out;
}

// The side panel: one modal <dialog> (the browser keeps focus in it, makes
// the page behind inert, and closes it with Escape); focus goes back to
// what opened it.
const drawer = () => document.getElementById('drawer');
let opener = null;

export function openDrawer(title, body, opts = {}) {
  const d = drawer();
  if (d.open) closeDrawer();
  opener = document.activeElement;
  $('#drawer-title').textContent = title;
  $('#drawer-body').replaceChildren(body);
  d.classList.toggle('wide', Boolean(opts.wide)); // for tables
  d.showModal();
  const first = opts.focus || body.querySelector('input:not([disabled]), textarea, select, button');
  if (first) first.focus();
}

export function setDrawerTitle(title) {
  $('#drawer-title').textContent = title;
}

// closeDrawer closes the side panel and finishes with it at once: the
// dialog's own close event comes later, as a task, by when another drawer
// may be open (Escape, then History at once, emptied the history drawer).
export function closeDrawer() {
  const d = drawer();
  if (!d.open) return;
  d.close();
  finishDrawer();
}

function finishDrawer() {
  $('#drawer-body').replaceChildren();
  if (opener && opener.isConnected) opener.focus();
  opener = null;
}

export function drawerOpen() {
  return drawer().open;
}

// wireDrawer sets up closing; called once.
export function wireDrawer() {
  const d = drawer();
  $('#drawer-close').addEventListener('click', closeDrawer);
  // Escape closes it through closeDrawer too, not by the browser's own
  // close (whose event would come too late, see closeDrawer).
  d.addEventListener('cancel', (e) => {
    e.preventDefault();
    closeDrawer();
  });
  // A close that went around closeDrawer (the browser may close without a
  // cancel event): finish, unless another drawer opened since.
  d.addEventListener('close', () => {
    if (!d.open) finishDrawer();
  });
  // A click on the backdrop (outside the panel) closes it.
  d.addEventListener('click', (e) => {
    if (e.target === d) {
      const r = d.getBoundingClientRect();
      if (e.clientX < r.left) closeDrawer();
    }
  });
}

// confirm asks a yes/no question in a modal dialog; resolves to a boolean.
export function confirm(text, okLabel) {
  const d = document.getElementById('confirm');
  $('#confirm-text').textContent = text;
  const ok = $('#confirm-ok');
  ok.textContent = okLabel;
  return new Promise((resolve) => {
    const done = (v) => () => { d.close(); resolve(v); };
    const yes = done(true), no = done(false);
    ok.addEventListener('click', yes, {once: true});
    $('#confirm-cancel').addEventListener('click', no, {once: true});
    d.addEventListener('cancel', no, {once: true});
    d.showModal();
    $('#confirm-cancel').focus();
  });
}

// toast shows a short message (a string, or strings and nodes such as a
// bidi's); opts.action {label, fn} adds a button
// (such as Undo); opts.error styles it as a failure, opts.warning as a
// warning that stays until dismissed. It goes away after a while, or when
// its action is used.
export function toast(text, opts = {}) {
  const kind = opts.error ? ' error' : opts.warning ? ' warning' : '';
  const box = el('div', {class: 'toast' + kind, attrs: {role: opts.error || opts.warning ? 'alert' : 'status'}},
    el('span', {}, text));
  let timer = 0;
  const holder = document.getElementById('toasts');
  const remove = () => {
    clearTimeout(timer);
    const focused = box.contains(document.activeElement);
    box.remove();
    if (focused && opts.refocus) opts.refocus();
    if (holder.children.length === 0 && holder.matches(':popover-open')) holder.hidePopover();
  };
  if (opts.action) {
    box.append(el('button', {type: 'button', class: 'toast-action', text: opts.action.label, on: {click: () => { remove(); opts.action.fn(); }}}));
  }
  box.append(el('button', {type: 'button', text: 'Dismiss', attrs: {'aria-label': 'Dismiss'}, on: {click: remove}}));
  // Plain messages are dropped, oldest first, once three are shown (on a
  // narrow screen a pile covered the rows' buttons); a warning, which
  // stays until dismissed, or a message with an action (Undo) is never
  // dropped, so more than three can remain.
  while (holder.children.length >= 3) {
    const old = [...holder.children].find((t) => t.dataset.plain === 'true');
    if (!old) break;
    old.dismiss();
  }
  box.dataset.plain = String(!opts.warning && !opts.action);
  box.dismiss = remove;
  holder.append(box);
  // Shown again, so it is the top of the top layer (above the side panel).
  if (holder.matches(':popover-open')) holder.hidePopover();
  holder.showPopover();
  if (!opts.warning) timer = setTimeout(remove, opts.action ? 12000 : 6000);
  if (opts.action && opts.focus) box.querySelector('.toast-action').focus();
  return box;
}

// showProblem puts an error's message in a form's alert box.
// It brings the box into sight: a form scrolled down to its Save button
// would otherwise seem to do nothing.
export function showProblem(box, p) {
  box.replaceChildren(el('strong', {text: (p.title || 'Error') + ': '}), p.message);
  box.hidden = false;
  box.scrollIntoView({block: 'nearest'});
}

// secretField makes a textarea hide what is typed (like a password) with
// a Show toggle. Browsers without text masking get a password input
// instead, so a value is never shown unasked.
export function secretField(area, toggle) {
  let field = area;
  if (!CSS.supports('-webkit-text-security', 'disc')) {
    field = el('input', {type: 'password', id: area.id, name: area.name, autocomplete: 'new-password',
      attrs: {'aria-describedby': area.getAttribute('aria-describedby') || ''}});
    area.replaceWith(field);
  }
  const set = (shown) => {
    toggle.setAttribute('aria-pressed', String(shown));
    toggle.textContent = shown ? 'Hide' : 'Show';
    if (field.tagName === 'TEXTAREA') field.classList.toggle('masked', !shown);
    else field.type = shown ? 'text' : 'password';
  };
  toggle.addEventListener('click', () => set(toggle.getAttribute('aria-pressed') !== 'true'));
  set(false);
  return {field, show: set};
}
