// The table of secrets: paging, search, and the row actions (edit,
// history, delete with undo, restore, destroy).

import {call, secretPath, etagOf, is} from './api.js';
import {el, bidi, $, timeEl, badges, toast, confirm} from './ui.js';
import {state, hooks, can, kind} from './state.js';
import {openEditor} from './editor.js';
import {openHistory} from './history.js';
import {splitName, scopeLabel} from './editor_model.js';

const pageSize = 50;
let seq = 0; // answers to older requests are dropped

// load shows the first page (or, with more, appends the next one).
export async function load(more = false) {
  const my = ++seq;
  const after = more ? state.next : '';
  let res;
  try {
    if (state.search) {
      // A search term goes in a body, never in a URL: people paste values
      // into search boxes, and URLs end up in logs.
      res = await call('POST', 'search', {body: {search: state.search, after, limit: pageSize, deleted: state.deleted}});
    } else {
      const q = new URLSearchParams({limit: String(pageSize), deleted: String(state.deleted)});
      if (after) q.set('after', after);
      res = await call('GET', 'secrets?' + q);
    }
  } catch (p) {
    if (my === seq) listProblem(p);
    return;
  }
  if (my !== seq) return;
  const page = res.data;
  const rows = $('#rows');
  if (!more) rows.replaceChildren();
  for (const m of page.secrets) {
    rows.append(row(m));
    const scope = splitName(m.name)[1];
    if (scope !== '*' && !state.scopes.includes(scope)) state.scopes = [...state.scopes, scope].sort();
  }
  state.next = page.next || '';
  $('#more').hidden = !state.next;
  const n = rows.children.length;
  $('#secrets').hidden = n === 0;
  const empty = $('#empty');
  empty.hidden = n !== 0;
  if (n === 0) empty.textContent = emptyText();
  const what = state.deleted ? 'deleted secret' : 'secret';
  $('#count').textContent = n === 0 ? '' :
    `${n}${state.next ? '+' : ''} ${what}${n === 1 ? '' : 's'}${state.search ? ` matching “${state.search}”` : ''}`;
  document.body.dataset.loaded = String(Date.now());
}

function emptyText() {
  if (state.search) return `No ${state.deleted ? 'deleted ' : ''}secret has a name containing “${state.search}”.`;
  if (state.deleted) return 'No deleted secrets. Deleted secrets stay here, restorable, until destroyed.';
  return can('set') ? 'No secrets yet. Add one, or paste a .env file.' : `This ${kind()} has no secrets yet.`;
}

// listProblem says why the list could not be loaded, in place of the
// list and what is said of it (its count, "Load more").
function listProblem(p) {
  $('#secrets').hidden = true;
  $('#count').textContent = '';
  $('#more').hidden = true;
  const empty = $('#empty');
  empty.hidden = false;
  empty.textContent = 'The secrets could not be loaded: ' + p.message;
}

// row renders one secret.
function row(m) {
  const [variable, scope] = splitName(m.name);
  return el('tr', {attrs: {'data-name': m.name}},
    el('td', {class: 'namecell'},
      el('code', {class: 'name', text: variable}),
      m.description ? el('div', {class: 'desc'}, bidi(m.description)) : null,
      el('div', {class: 'badges'}, badges(m, state.dueMs))),
    el('td', {class: 'scope' + (scope === '*' ? ' all' : ''), attrs: {'data-label': 'Environment'}}, scopeLabel(scope)),
    el('td', {attrs: {'data-label': 'Updated'}}, timeEl(m.updated)),
    el('td', {attrs: {'data-label': 'By'}}, bidi(m.updated_by || '—')),
    el('td', {attrs: {'data-label': 'Version'}, text: 'v' + m.version}),
    el('td', {class: 'acts'}, actions(m)));
}

function button(label, act, m, fn, cls = '') {
  return el('button', {type: 'button', class: 'small ' + cls, text: label,
    attrs: {'data-act': act, 'aria-label': `${label} ${m.name}`}, on: {click: () => fn(m)}});
}

function actions(m) {
  const out = [];
  if (m.deleted) {
    if (can('set')) out.push(button('Restore', 'restore', m, restore));
    out.push(button('History', 'history', m, openHistory));
    if (can('destroy')) out.push(button('Destroy', 'destroy', m, destroy, 'quiet-danger'));
  } else {
    if (can('set')) out.push(button('Edit', 'edit', m, openEditor));
    out.push(button('History', 'history', m, openHistory));
    if (can('delete')) out.push(button('Delete', 'delete', m, remove, 'quiet-danger'));
  }
  return out;
}

// remove soft-deletes, with Undo in the notice. The deleted row's button
// had the focus: Undo gets it, and when the notice goes, the row that
// took the deleted one's place (or the filter, in an empty list).
async function remove(m) {
  const tr = document.querySelector(`tr[data-name="${CSS.escape(m.name)}"]`);
  const near = tr && (tr.nextElementSibling || tr.previousElementSibling);
  const nearName = near ? near.dataset.name : '';
  try {
    const r = await call('DELETE', secretPath(m.name), {ifMatch: etagOf(m)});
    await hooks.refresh();
    toast(`Deleted ${m.name}.`, {action: {label: 'Undo', fn: () => restore(r.data)}, focus: true,
      refocus: () => focusRow(nearName)});
  } catch (p) {
    staleOr(p, m);
  }
}

// focusRow focuses the first button of the row of name, or the filter.
function focusRow(name) {
  const b = name && document.querySelector(`tr[data-name="${CSS.escape(name)}"] button`);
  (b || document.getElementById('search')).focus();
}

async function restore(m) {
  try {
    const r = await call('POST', secretPath(m.name, 'undelete'), {ifMatch: etagOf(m)});
    await hooks.refresh();
    hooks.highlight(r.data.name);
    focusRow(r.data.name);
    toast(`Restored ${m.name}.`);
  } catch (p) {
    staleOr(p, m);
  }
}

async function destroy(m) {
  const ok = await confirm(`Destroy ${m.name} for good? Its value and every version are erased; builds lose it. This cannot be undone.`, 'Destroy');
  if (!ok) return;
  try {
    await call('POST', secretPath(m.name, 'destroy'), {ifMatch: etagOf(m)});
    await hooks.refresh();
    toast(`Destroyed ${m.name}.`);
  } catch (p) {
    staleOr(p, m);
  }
}

// staleOr explains a failed row action; a conflict means the row was out
// of date, so the list is reloaded.
export function staleOr(p, m) {
  if (is(p, 'ProblemConflict') || is(p, 'ProblemNotFound')) {
    const cur = p.body && p.body.current;
    const who = cur ? [' by ', bidi(cur.updated_by), ` ${new Date(cur.updated).toLocaleString()}`] : [];
    const version = (cur && cur.version) || (p.body && p.body.version);
    const now = version ? ` (now at version ${version})` : '';
    toast([`${m.name} was changed`, ...who, `${now} since the list was shown, so nothing was done. The list is up to date now: try again.`], {error: true});
    hooks.refresh();
    return;
  }
  toast(p.message, {error: true});
}

// highlight marks a row after a change, so the eye finds it.
export function highlight(name) {
  const tr = document.querySelector(`tr[data-name="${CSS.escape(name)}"]`);
  if (!tr) return;
  tr.classList.add('fresh');
  setTimeout(() => tr.classList.remove('fresh'), 2500);
}
