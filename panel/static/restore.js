// "Restore to…": the workspace as it was at a time, from its kept versions
// and soft deletes. A preview first (names and versions: the server never
// sends a value), then exactly that plan, or nothing if the workspace
// changed meanwhile.

import {call, is} from './api.js';
import {el, openDrawer, closeDrawer, toast, showProblem} from './ui.js';
import {hooks, kind} from './state.js';

export function openRestore() {
  const at = el('input', {attrs: {type: 'datetime-local', step: '1', id: 'r-at', required: ''}});
  const box = el('div', {class: 'problem', hidden: true});
  const planBox = el('div', {class: 'plan', hidden: true});
  const previewBtn = el('button', {type: 'submit', class: 'primary preview', text: 'Preview'});
  const applyBtn = el('button', {type: 'button', class: 'primary apply', hidden: true});
  const cancel = el('button', {type: 'button', text: 'Cancel'});
  const form = el('form', {},
    el('p', {class: 'muted', text: `Make this ${kind()} as it was at a time: each secret gets, as a new version, the value it had then; secrets deleted since come back, secrets made since are deleted. History is kept. Destroyed secrets and versions no longer kept cannot come back; renames are not undone.`}),
    el('label', {attrs: {for: 'r-at'}, text: 'Time (your local time)'}), at, box, planBox,
    el('div', {class: 'actions'}, previewBtn, applyBtn, cancel));
  let plan = null;
  const reset = () => { plan = null; planBox.hidden = true; applyBtn.hidden = true; previewBtn.hidden = false; };
  at.addEventListener('input', () => { box.hidden = true; reset(); });
  form.addEventListener('submit', (e) => { e.preventDefault(); preview(); });
  applyBtn.addEventListener('click', apply);
  cancel.addEventListener('click', closeDrawer);
  openDrawer('Restore to…', form, {focus: at});

  async function preview() {
    box.hidden = true;
    const t = new Date(at.value);
    if (!at.value || Number.isNaN(t.getTime())) {
      showProblem(box, {title: 'No time', message: 'Pick the time to restore to.'});
      return;
    }
    previewBtn.disabled = true;
    try {
      const r = await call('POST', 'restore-at/preview', {body: {at: t.toISOString()}});
      plan = r.data;
      render(plan);
    } catch (p) {
      showProblem(box, p);
    } finally {
      previewBtn.disabled = false;
    }
  }

  function render(p) {
    const list = (title, cls, items, text) => (items && items.length ? [
      el('h3', {class: cls, text: `${title} (${items.length})`}),
      el('ul', {attrs: {'data-part': cls}}, items.map((i) => el('li', {}, el('code', {text: i.name || i}), text ? ' ' + text(i) : ''))),
    ] : null);
    const n = (p.versions || []).length + (p.undeleted || []).length + (p.deleted || []).length;
    planBox.replaceChildren(...[
      el('p', {}, el('strong', {text: n === 0 ? `Nothing to change: the ${kind()} is as it was then.` : `${n} change${n === 1 ? '' : 's'}:`})),
      list('Back to an earlier value', 'versions', p.versions, (c) => `v${c.from} → the value of v${c.to}${protects(c)}`),
      list('Undeleted', 'undeleted', p.undeleted, (c) => (c.from !== c.to ? `with the value of v${c.to}${protects(c)}` : '')),
      list('Deleted (made since)', 'deleted', p.deleted),
      list('Cannot come back', 'unrestorable', p.unrestorable, (u) => `— ${u.reason}`),
      list('Keeps its current name', 'renamed', p.renamed, (r) => `(was ${r.was})`),
    ].flat().filter(Boolean));
    planBox.hidden = false;
    applyBtn.textContent = `Restore: ${n} change${n === 1 ? '' : 's'}`;
    applyBtn.hidden = n === 0;
    previewBtn.hidden = n !== 0;
    (n === 0 ? previewBtn : applyBtn).focus();
  }

  async function apply() {
    if (!plan) return;
    applyBtn.disabled = true;
    try {
      await call('POST', 'restore-at/apply', {body: {plan}});
      closeDrawer();
      await hooks.refresh();
      toast('Restored: the changes are new versions; the history keeps the old ones.');
    } catch (p) {
      if (is(p, 'ProblemConflict')) {
        reset();
        showProblem(box, {title: 'Changed meanwhile', message: `Someone changed this ${kind()} since your preview, so nothing was restored. Preview again.`});
        previewBtn.focus();
      } else {
        showProblem(box, p);
      }
    } finally {
      applyBtn.disabled = false;
    }
  }
}

// protects is a change's note that the secret becomes protected: the
// version it gets back was sealed protected.
function protects(c) {
  return c.protects ? ', which makes it protected' : '';
}
