// Bulk paste of a .env text: a preview of the difference (by name; the
// server never sends a value back), then an apply of exactly that
// difference. If the workspace changed in between, the apply is refused
// and the editor previews again.

import {call, is} from './api.js';
import {el, $, clone, openDrawer, closeDrawer, toast, showProblem, secretField} from './ui.js';
import {hooks, kind} from './state.js';

export function openBulk() {
  const form = clone('tpl-bulk');
  const box = $('.problem', form);
  const diffBox = $('.diff', form);
  const previewBtn = $('.preview', form);
  const applyBtn = $('.apply', form);
  const {field: text} = secretField($('#b-text', form), $('.show', form));
  let shown = null; // {text, remove, diff} of the preview on screen

  const reset = () => {
    shown = null;
    diffBox.hidden = true;
    applyBtn.hidden = true;
    previewBtn.hidden = false;
  };
  form.addEventListener('input', () => { box.hidden = true; text.removeAttribute('aria-invalid'); if (shown) reset(); });
  form.addEventListener('submit', (e) => { e.preventDefault(); preview(); });
  applyBtn.addEventListener('click', apply);
  $('.cancel', form).addEventListener('click', closeDrawer);
  openDrawer('Paste .env', form, {focus: text});

  async function preview() {
    box.hidden = true;
    if (text.value.trim() === '') {
      text.setAttribute('aria-invalid', 'true');
      showProblem(box, {title: 'Nothing to preview', message: 'Paste NAME=value lines first.'});
      return;
    }
    const req = {text: text.value, remove: form.elements.remove.checked};
    previewBtn.disabled = true;
    try {
      const r = await call('POST', 'dotenv/preview', {body: req});
      shown = {...req, diff: r.data};
      render(r.data);
    } catch (p) {
      refused(p);
    } finally {
      previewBtn.disabled = false;
    }
  }

  function render(d) {
    const part = (title, cls, names) => (names.length === 0 ? null : [
      el('h3', {class: cls, text: `${title} (${names.length})`}),
      el('ul', {attrs: {'data-part': cls}}, names.map((n) => el('li', {}, el('code', {text: n})))),
    ]);
    const n = d.added.length + d.changed.length + d.removed.length;
    diffBox.replaceChildren(...[
      el('p', {}, el('strong', {text: n === 0 ? `Nothing to change: the ${kind()} already has these values.` : `${n} change${n === 1 ? '' : 's'} to apply:`})),
      part('New', 'added', d.added), part('New value', 'changed', d.changed), part('Deleted', 'removed', d.removed),
      d.unchanged.length ? el('p', {class: 'muted', text: `${d.unchanged.length} unchanged: ${d.unchanged.join(', ')}.`}) : null,
      (d.uncompared || []).length ? el('p', {class: 'hint', attrs: {'data-note': 'uncompared'}, text: `Write-only secrets always count as changed: their values are never compared (${d.uncompared.join(', ')}).`}) : null,
    ].flat().filter(Boolean));
    diffBox.hidden = false;
    applyBtn.textContent = `Apply ${n} change${n === 1 ? '' : 's'}`;
    applyBtn.hidden = n === 0;
    previewBtn.hidden = n !== 0;
    (n === 0 ? previewBtn : applyBtn).focus();
  }

  async function apply() {
    if (!shown) return;
    applyBtn.disabled = true;
    try {
      const d = shown.diff;
      await call('POST', 'dotenv/apply', {body: {text: shown.text, diff: d}});
      text.value = '';
      closeDrawer();
      await hooks.refresh();
      toast(`Applied: ${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} deleted.`);
    } catch (p) {
      if (is(p, 'ProblemConflict')) {
        reset();
        showProblem(box, {title: 'Changed meanwhile', message: `Someone changed this ${kind()} since your preview, so nothing was applied. Preview again to see the difference as it is now.`});
        previewBtn.focus();
      } else {
        refused(p);
      }
    } finally {
      applyBtn.disabled = false;
    }
  }

  // refused explains a refusal; for a bad line, the caret goes to it.
  function refused(p) {
    showProblem(box, p);
    const line = p.body && p.body.line;
    if (is(p, 'ProblemInvalidDotenv') && line > 0 && text.tagName === 'TEXTAREA') {
      const lines = text.value.split(/\r\n|\r|\n/);
      let start = 0;
      for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
      text.setAttribute('aria-invalid', 'true');
      text.focus();
      text.setSelectionRange(start, start + (lines[line - 1] || '').length);
    }
  }
}
