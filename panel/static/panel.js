// The secrets panel's page: asks the API who the caller is and what they
// may do, then shows the list and the controls they may use. The server
// enforces every rule; hiding a control is only a courtesy.

import {call} from './api.js';
import {el, bidi, iso, $, wireDrawer, drawerOpen, toast, day} from './ui.js';
import {state, hooks, kind, isParent} from './state.js';
import {load, highlight} from './list.js';
import {openEditor} from './editor.js';
import {openBulk} from './bulk.js';
import {openRestore} from './restore.js';
import {openActivity} from './history.js';
import {openResolve} from './resolve.js';
import {loadInherited} from './inherited.js';

async function start() {
  wireDrawer();
  let me;
  try {
    me = (await call('GET', 'me')).data;
  } catch (p) {
    // No role is claimed: a server that cannot tell what the caller may
    // do (503) is not one that says they may do nothing.
    const box = $('#signin');
    if (p.status === 401) {
      box.textContent = 'Sign in to see this workspace’s secrets.';
    } else {
      box.replaceChildren('The panel could not be loaded: ' + p.message + ' ',
        el('button', {type: 'button', id: 'retry', text: 'Try again', on: {click: () => location.reload()}}));
      box.classList.add('error');
    }
    box.hidden = false;
    document.body.dataset.loaded = 'error';
    return;
  }
  state.me = me;
  state.dueMs = me.due_within_hours * 3600e3;
  $('#workspace').replaceChildren(bidi(me.workspace));
  $('#mask-min').textContent = String(me.mask_min_length);
  word();
  document.title = `Secrets · ${iso(me.workspace)}`;
  // The host's name for the caller's role, as it is; without one, what
  // the caller may do.
  const role = me.role || (me.can.set ? 'Editor' : 'Viewer · read-only');
  $('#who').replaceChildren('Signed in as ', el('strong', {}, bidi(me.actor)),
    el('span', {class: 'badge role', text: role}));
  // Controls the caller may not use are removed, not just hidden.
  for (const b of document.querySelectorAll('[data-needs]')) {
    if (!b.dataset.needs.split(' ').every((n) => me.can[n])) b.remove();
  }
  $('#toolbar').hidden = false;
  wire();
  hooks.refresh = async () => { await Promise.all([load(), loadDue()]); };
  hooks.highlight = highlight;
  await Promise.all([hooks.refresh(), loadInherited()]);
}

// word says what the container is: a parent's secrets go to the jobs of
// the workspaces below it, not to jobs of its own.
function word() {
  const k = kind();
  $('#secrets-caption').textContent = `Secrets of this ${k}`;
  if (!isParent()) return;
  $('#intro-to').textContent = `Secrets are given to every build and job of the workspaces below this ${k}, ` +
    'unless the workspace or a level between has the same name,';
  $('#inherited-intro').replaceChildren('Jobs below ', el('span', {class: 'here'}),
    ` also get these secrets of the levels above it, unless this ${k} or a nearer level has the same name for the job’s environment (“What will a job get?” shows which value wins). ` +
    'Values are never shown here; edit them on their own level’s page.');
}

function wire() {
  const search = $('#search');
  let timer = 0;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.search = search.value.trim(); load(); }, 200);
  });
  $('#show-deleted').addEventListener('change', (e) => { state.deleted = e.target.checked; load(); });
  $('#more').addEventListener('click', () => load(true));
  const on = (id, fn) => { const b = document.getElementById(id); if (b) b.addEventListener('click', fn); };
  on('add-btn', () => openEditor(null));
  on('bulk-btn', openBulk);
  on('restore-btn', openRestore);
  on('activity-btn', openActivity);
  on('resolve-btn', openResolve);
  on('export-btn', exportEnv);
  document.addEventListener('keydown', (e) => {
    const typing = e.target.closest && e.target.closest('input, textarea, [contenteditable]');
    if (e.key === '/' && !typing && !drawerOpen() && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      search.focus();
    }
  });
}

// loadDue shows which secrets expire or are due for rotation soon.
async function loadDue() {
  const box = $('#due');
  let due;
  try {
    due = (await call('GET', 'due')).data.secrets;
  } catch {
    box.hidden = true;
    return;
  }
  if (due.length === 0) {
    box.hidden = true;
    return;
  }
  const now = Date.now();
  const expired = due.filter((m) => m.expires && Date.parse(m.expires) <= now);
  const items = due.map((m) => {
    const when = m.expires && Date.parse(m.expires) <= now ? `expired ${day(m.expires)}`
      : m.expires ? `expires ${day(m.expires)}` : `rotate by ${day(m.rotate_by)}`;
    return el('li', {}, el('code', {text: m.name}), ` — ${when}`);
  });
  const days = Math.round(state.dueMs / 86400e3);
  box.replaceChildren(
    el('strong', {text: expired.length
      ? `${expired.length} expired, ${due.length - expired.length} due within ${days} days:`
      : `${due.length} secret${due.length === 1 ? '' : 's'} to renew within ${days} days:`}),
    el('ul', {}, items));
  box.classList.toggle('error', expired.length > 0);
  box.hidden = false;
}

// exportEnv downloads the workspace as .env text (a POST: it reveals
// values, and is audited).
async function exportEnv() {
  try {
    const r = await call('POST', 'export', {body: {}});
    const url = URL.createObjectURL(r.data);
    const a = el('a', {href: url, download: `${state.me.workspace.replace(/[^A-Za-z0-9_.-]/g, '_')}.env`});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    toast('Exported. The file holds values in the clear: keep it safe and delete it when done.');
  } catch (p) {
    toast(p.message, {error: true});
  }
}

start();
