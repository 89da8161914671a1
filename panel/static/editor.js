// The side panel that adds or edits a secret. Editing is check-and-set:
// every write carries the revision the editor saw (If-Match). If someone
// else saved first, the server refuses (412) with the secret as it is now;
// the panel keeps the editor's input, says what changed, and offers to save
// the editor's changes over the new revision or to reload.

import {call, secretPath, etagOf, is} from './api.js';
import {el, $, clone, openDrawer, closeDrawer, setDrawerTitle, toast, showProblem, secretField,
  ago, day, toDateInput, fromDateInput} from './ui.js';
import {state, hooks, can} from './state.js';

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

// openEditor opens the panel for a new secret (meta null) or for meta.
export function openEditor(meta) {
  const form = clone('tpl-editor');
  const f = (n) => form.elements[n];
  const box = $('.problem', form);
  const conflictBox = $('.conflict', form);
  const saveBtn = $('.save', form);
  const revealBtn = $('.reveal', form);
  const {field: value, show} = secretField($('#f-value', form), $('.show', form));
  const valueHint = $('#f-value-hint', form);
  let base = meta; // the secret as the editor last saw it
  let theirs = null; // the revision a conflict showed, which "save mine" saves over
  let saving = false; // a save is under way: another waits for its answer
  const dirty = new Set(); // the fields the editor changed

  const fill = (m) => {
    f('name').value = m ? m.name : '';
    f('description').value = m ? m.description || '' : '';
    f('expires').value = m ? toDateInput(m.expires) : '';
    f('rotate_by').value = m ? toDateInput(m.rotate_by) : '';
    f('write_only').checked = Boolean(m && m.write_only);
    f('file').checked = Boolean(m && m.file);
  };
  // hint names the version an empty value keeps: m's, the one shown
  // first or, after a conflict, the one saved since.
  const hint = (m) => {
    valueHint.textContent = m.write_only
      ? `Write-only: builds get it, nobody sees it. Type a new value to replace version ${m.version}, or leave empty to keep it.`
      : `Hidden while you type. Leave empty to keep the current value (version ${m.version}).`;
  };
  fill(meta);
  if (meta) {
    value.placeholder = 'Unchanged';
    hint(meta);
    f('write_only').disabled = meta.write_only; // it cannot be turned off
    f('name').disabled = !can('rename');
    revealBtn.hidden = !can('reveal') || meta.write_only;
  } else {
    valueHint.textContent = 'Hidden while you type. Up to 128 KiB; any text but NUL.';
  }

  const touched = (e) => {
    if (!e.target.name) return;
    dirty.add(e.target.name);
    e.target.removeAttribute('aria-invalid');
    box.hidden = true;
  };
  form.addEventListener('input', touched);
  form.addEventListener('change', touched);
  form.addEventListener('submit', (e) => { e.preventDefault(); save(); });
  $('.cancel', form).addEventListener('click', closeDrawer);
  revealBtn.addEventListener('click', reveal);
  // The only handler of the button: one click, one request.
  $('.overwrite', form).addEventListener('click', () => {
    if (!theirs) return;
    base = theirs;
    theirs = null;
    conflictBox.hidden = true;
    save();
  });
  $('.reload', form).addEventListener('click', reload);

  openDrawer(meta ? `Edit ${meta.name}` : 'Add secret', form, {focus: meta ? value : f('name')});

  // changes are the fields to send: those the editor changed that differ
  // from base (after a conflict, base is the other person's revision, so
  // their changes to other fields are kept).
  function changes() {
    const out = {};
    const has = (n) => dirty.has(n);
    if (has('value') && value.value !== '') out.value = value.value;
    if (has('description') && f('description').value !== (base.description || '')) out.description = f('description').value;
    for (const n of ['expires', 'rotate_by']) {
      if (has(n) && f(n).value !== toDateInput(base[n])) out[n] = fromDateInput(f(n).value);
    }
    for (const n of ['write_only', 'file']) {
      if (has(n) && f(n).checked !== Boolean(base[n])) out[n] = f(n).checked;
    }
    return out;
  }

  function invalid(name, msg) {
    const input = name === 'value' ? value : f(name);
    input.setAttribute('aria-invalid', 'true');
    showProblem(box, {title: 'Check the form', message: msg});
    input.focus();
  }

  async function save() {
    if (saving) return;
    box.hidden = true;
    const name = f('name').value.trim();
    if (!name) return invalid('name', 'Give the secret a name.');
    if (!namePattern.test(name)) {
      return invalid('name', 'A name has only letters, digits and _, and does not start with a digit.');
    }
    if (!base && value.value === '') return invalid('value', 'Give the secret a value.');
    saveBtn.disabled = true;
    saving = true;
    try {
      if (!base) {
        const body = {name, value: value.value, description: f('description').value,
          write_only: f('write_only').checked, file: f('file').checked};
        for (const n of ['expires', 'rotate_by']) if (f(n).value) body[n] = fromDateInput(f(n).value);
        const r = await call('POST', 'secrets', {body});
        return done(r.data, `Added ${r.data.name}.`, r.data.warnings, body.value);
      }
      let cur = base;
      let warnings = [];
      if (name !== base.name) {
        const r = await call('POST', secretPath(base.name, 'rename'), {body: {to: name}, ifMatch: etagOf(base)});
        cur = base = r.data;
        warnings = r.data.warnings || [];
        setDrawerTitle(`Edit ${cur.name}`);
      }
      const body = changes();
      if (Object.keys(body).length > 0) {
        const r = await call('PATCH', secretPath(cur.name), {body, ifMatch: etagOf(cur)});
        cur = r.data;
      }
      done(cur, name !== meta.name ? `Renamed ${meta.name} to ${cur.name} and saved.` : `Saved ${cur.name}.`, warnings, body.value || '');
    } catch (p) {
      refused(p);
    } finally {
      saving = false;
      saveBtn.disabled = false;
    }
  }

  // done closes the form and says what was saved, with the server's
  // warnings about the name (a name shaped like a program's start-up
  // file or command line, which jobs' programs may run as code).
  function done(m, msg, warnings = [], typed = '') {
    value.value = '';
    closeDrawer();
    hooks.refresh().then(() => hooks.highlight(m.name));
    toast(msg);
    // The Redactor counts bytes; jobs' output shows a shorter value as is.
    const min = state.me.mask_min_length;
    if (typed !== '' && new TextEncoder().encode(typed).length < min) {
      toast(`Warning: the value of ${m.name} is shorter than ${min} characters, so it is not masked in build logs: a job that prints it shows it. Use a longer value if it must stay out of them.`, {warning: true});
    }
    for (const w of warnings || []) {
      toast(`Warning: ${w.name} matches ${w.pattern}: ${w.reason}. Make sure no program your jobs run reads it as code.`, {warning: true});
    }
  }

  // refused explains a refusal next to the field it concerns.
  function refused(p) {
    if (is(p, 'ProblemConflict')) return conflict(p);
    const b = p.body || {};
    if (is(p, 'ProblemExists')) {
      return invalid('name', b.deleted
        ? `The deleted secret ${b.name} holds this name (names ignore case). Restore or destroy it first.`
        : `${b.name} already exists (names ignore case). Edit it instead, or choose another name.`);
    }
    if (is(p, 'ProblemInvalidName') || is(p, 'ProblemReservedName')) return invalid('name', p.message);
    if (is(p, 'ProblemInvalidValue') || is(p, 'ProblemTooLarge')) return invalid('value', p.message);
    if (is(p, 'ProblemInvalidInfo')) return invalid('description', p.message);
    if (is(p, 'ProblemNotFound') && base) {
      showProblem(box, {title: 'Gone', message: `${base.name} was deleted or renamed by someone else while you were editing. Your input is still here; copy what you need, then close.`});
      saveBtn.disabled = true;
      return;
    }
    showProblem(box, p);
  }

  // conflict shows what someone else changed since base.
  function conflict(p) {
    const b = p.body || {};
    const cur = b.current;
    const what = $('.conflict-what', form);
    what.replaceChildren();
    const overwrite = $('.overwrite', form);
    theirs = null;
    if (!cur || cur.deleted) {
      $('.conflict-who', form).textContent = cur
        ? `${cur.deleted_by || 'Someone'} deleted ${cur.name} ${ago(cur.deleted)}, while you were editing. Restore it from “Show deleted” to save your changes.`
        : `${b.name || base.name} was destroyed while you were editing.`;
      overwrite.hidden = true;
    } else {
      $('.conflict-who', form).textContent =
        `${cur.updated_by || 'Someone'} saved ${cur.name} while you were editing (${ago(cur.updated)}); it is now at version ${cur.version}. What they changed:`;
      for (const line of differences(base, cur)) what.append(el('li', {text: line}));
      if (what.children.length === 0) what.append(el('li', {text: 'Nothing you can see: its details were saved again unchanged.'}));
      overwrite.hidden = false;
      theirs = cur;
      hint(cur);
    }
    conflictBox.hidden = false;
    hooks.refresh(); // the list behind shows the secret as it is now
    conflictBox.scrollIntoView({block: 'nearest'});
    (overwrite.hidden ? $('.reload', form) : overwrite).focus();
  }

  // differences says, in words, how cur differs from old, and whether the
  // editor changed the same field.
  function differences(old, cur) {
    const out = [];
    const mine = (n) => (dirty.has(n) ? ' (you changed it too)' : '');
    if (cur.version !== old.version) {
      out.push(`The value: version ${old.version} → ${cur.version}, by ${cur.value_updated_by}${mine('value')}.`);
    }
    if ((cur.description || '') !== (old.description || '')) {
      out.push(`The description: now “${cur.description || ''}”${mine('description')}.`);
    }
    const d = (iso) => (iso ? day(iso) : 'none');
    if (toDateInput(cur.expires) !== toDateInput(old.expires)) out.push(`Expiry: ${d(old.expires)} → ${d(cur.expires)}${mine('expires')}.`);
    if (toDateInput(cur.rotate_by) !== toDateInput(old.rotate_by)) out.push(`Rotate by: ${d(old.rotate_by)} → ${d(cur.rotate_by)}${mine('rotate_by')}.`);
    if (Boolean(cur.write_only) !== Boolean(old.write_only)) out.push(`It was made write-only${mine('write_only')}.`);
    if (Boolean(cur.file) !== Boolean(old.file)) out.push(`Delivered as a file: ${cur.file ? 'yes' : 'no'}${mine('file')}.`);
    if (cur.name !== old.name) out.push(`Renamed from ${old.name} to ${cur.name}.`);
    return out;
  }

  async function reload() {
    try {
      const r = await call('GET', secretPath(base.name));
      openEditor(r.data);
    } catch (p) {
      showProblem(box, p);
    }
  }

  // reveal fetches the current value into the field (a POST, audited).
  async function reveal() {
    box.hidden = true;
    try {
      const r = await call('POST', secretPath(base.name, 'reveal'), {body: {}});
      const d = r.data;
      value.value = d.value !== undefined ? d.value : (d.value_base64 ? '' : '');
      if (d.value_base64) {
        showProblem(box, {title: 'Binary value', message: 'This value is not text; it can be replaced here but not shown.'});
      }
      dirty.delete('value');
      show(true);
      revealBtn.hidden = true;
      value.focus();
    } catch (p) {
      showProblem(box, p);
    }
  }
}
