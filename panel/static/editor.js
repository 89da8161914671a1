// The side panel that adds or edits a secret. Editing is check-and-set:
// every write carries the revision the editor saw (If-Match). If someone
// else saved first, the server refuses (412) with the secret as it is now;
// the panel keeps the editor's input, says what changed, and offers to save
// the editor's changes over the new revision or to reload.
// This is the view: what the editor changed, what a save sends and what
// someone else changed are editor_model.js's.

import {call, secretPath, etagOf, is} from './api.js';
import {el, $, clone, openDrawer, closeDrawer, setDrawerTitle, toast, showProblem, secretField,
  ago, day, confirm, bidi, iso} from './ui.js';
import {state, hooks, can} from './state.js';
import {Edit, formOf, unmasked, undefinedWarning} from './editor_model.js';

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
  const valueError = $('#f-value-error', form);
  const refsBox = $('#f-refs', form);
  const edit = new Edit(meta);
  let saving = false; // a save is under way: another waits for its answer

  const fill = (m) => {
    const v = formOf(m);
    for (const n of ['name', 'scope', 'description', 'expires', 'rotate_by']) f(n).value = v[n];
    for (const n of ['write_only', 'file', 'protected', 'expand']) f(n).checked = v[n];
  };
  // read is the form's input, as editor_model.js takes it.
  const read = () => ({
    name: f('name').value, scope: f('scope').value, value: value.value, description: f('description').value,
    expires: f('expires').value, rotate_by: f('rotate_by').value,
    write_only: f('write_only').checked, file: f('file').checked, protected: f('protected').checked,
    expand: f('expand').checked,
  });
  // hint names the version an empty value keeps: m's, the one shown
  // first or, after a conflict, the one saved since.
  const hint = (m) => {
    valueHint.textContent = m.write_only
      ? `Write-only: builds get it, nobody sees it. Type a new value to replace version ${m.version}, or leave empty to keep it.`
      : `Hidden while you type. Leave empty to keep the current value (version ${m.version}).`;
  };
  // The scopes in use here and above, suggested (any other may be typed).
  $('#scopes', form).replaceChildren(...['*', ...state.scopes].map((sc) => el('option', {value: sc})));
  fill(meta);
  if (meta) {
    value.placeholder = 'Unchanged';
    hint(meta);
    f('write_only').disabled = meta.write_only; // it cannot be turned off
    f('name').disabled = !can('rename');
    f('scope').disabled = !can('rename'); // another scope is another name
    revealBtn.hidden = !can('reveal') || meta.write_only;
  } else {
    valueHint.textContent = 'Hidden while you type. Up to 128 KiB; any text but NUL.';
  }

  // showRefs lists the names the value references, if it expands them
  // (names only: what the editor typed, never another secret's value).
  const showRefs = () => {
    const names = edit.references(read());
    refsBox.replaceChildren();
    refsBox.hidden = names.length === 0;
    if (names.length > 0) refsBox.append('References: ', ...names.map((n) => el('code', {text: n})));
  };
  const touched = (e) => {
    if (!e.target.name) return;
    edit.touch(e.target.name);
    e.target.removeAttribute('aria-invalid');
    box.hidden = true;
    if (e.target.name === 'value' || e.target.name === 'expand') {
      value.removeAttribute('aria-invalid');
      valueError.hidden = true;
      showRefs();
    }
  };
  form.addEventListener('input', touched);
  form.addEventListener('change', touched);
  form.addEventListener('submit', (e) => { e.preventDefault(); save(); });
  $('.cancel', form).addEventListener('click', closeDrawer);
  revealBtn.addEventListener('click', reveal);
  // The only handler of the button: one click, one request.
  $('.overwrite', form).addEventListener('click', () => {
    if (!edit.overwrite()) return;
    conflictBox.hidden = true;
    save();
  });
  $('.reload', form).addEventListener('click', reload);

  openDrawer(meta ? `Edit ${meta.name}` : 'Add secret', form, {focus: meta ? value : f('name')});

  function invalid(name, msg) {
    const input = name === 'value' ? value : f(name);
    input.setAttribute('aria-invalid', 'true');
    showProblem(box, {title: 'Check the form', message: msg});
    // The message is above the first field: keep it in sight with the
    // field it concerns (the fields checked are the first ones).
    input.focus({preventScroll: true});
    box.scrollIntoView({block: 'start'});
  }

  async function save() {
    if (saving) return;
    box.hidden = true;
    const input = read();
    const bad = edit.check(input);
    if (bad) return invalid(bad.field, bad.message);
    // Write-only cannot be undone: ask, as Destroy and Roll back do.
    if (edit.base && !edit.base.write_only && input.write_only &&
        !await confirm(`Make ${edit.base.name} write-only? Builds keep getting it, but nobody can see its value again, here or anywhere. This cannot be undone.`, 'Make write-only')) {
      return;
    }
    saveBtn.disabled = true;
    saving = true;
    try {
      if (!edit.base) {
        const body = edit.created(input);
        const r = await call('POST', 'secrets', {body});
        return done(r.data, `Added ${r.data.name}.`, r.data.warnings, body.value);
      }
      let cur = edit.base;
      let warnings = [];
      const to = edit.renameTo(input);
      if (to) {
        const r = await call('POST', secretPath(cur.name, 'rename'), {body: {to}, ifMatch: etagOf(cur)});
        cur = r.data;
        edit.saved(cur);
        warnings = r.data.warnings || [];
        setDrawerTitle(`Edit ${cur.name}`);
      }
      const body = edit.changes(input);
      if (Object.keys(body).length > 0) {
        const r = await call('PATCH', secretPath(cur.name), {body, ifMatch: etagOf(cur)});
        cur = r.data;
      }
      done(cur, cur.name !== meta.name ? `Renamed ${meta.name} to ${cur.name} and saved.` : `Saved ${cur.name}.`, warnings, body.value || '');
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
    hooks.refresh().then(() => {
      hooks.highlight(m.name);
      refocus(m.name);
    });
    toast(msg);
    // The Redactor counts bytes; jobs' output shows a shorter value as is.
    const min = state.me.mask_min_length;
    if (unmasked(typed, min)) {
      toast(`Warning: the value of ${m.name} is shorter than ${min} characters, so it is not masked in build logs: a job that prints it shows it. Use a longer value if it must stay out of them.`, {warning: true});
    }
    const u = undefinedWarning(m);
    if (u) toast(u, {warning: true});
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
        ? `The deleted secret ${b.name} holds this name in this environment scope (names ignore case). Restore or destroy it first.`
        : `${b.name} already exists in this environment scope (names ignore case). Edit it instead, or choose another name.`);
    }
    if (is(p, 'ProblemInvalidName') || is(p, 'ProblemReservedName')) return invalid('name', p.message);
    if (is(p, 'ProblemInvalidScope')) return invalid('scope', p.message);
    if (is(p, 'ProblemInvalidValue') || is(p, 'ProblemTooLarge')) return invalid('value', p.message);
    if (is(p, 'ProblemInvalidInfo')) return invalid('description', p.message);
    if (is(p, 'ProblemReference')) {
      // Beside the value whose references are refused (a cycle names its chain).
      value.setAttribute('aria-invalid', 'true');
      valueError.textContent = `${p.title}: ${p.message}.`;
      valueError.hidden = false;
      value.focus({preventScroll: true});
      valueError.scrollIntoView({block: 'nearest'});
      return;
    }
    if (is(p, 'ProblemNotFound') && edit.base) {
      showProblem(box, {title: 'Gone', message: `${edit.base.name} was deleted or renamed by someone else while you were editing. Your input is still here; copy what you need, then close.`});
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
    edit.conflict(cur);
    if (!cur || cur.deleted) {
      $('.conflict-who', form).replaceChildren(...(cur
        ? [cur.deleted_by ? bidi(cur.deleted_by) : 'Someone', ` deleted ${cur.name} ${ago(cur.deleted)}, while you were editing. Restore it from “Show deleted” to save your changes.`]
        : [`${b.name || edit.base.name} was destroyed while you were editing.`]));
      overwrite.hidden = true;
    } else {
      $('.conflict-who', form).replaceChildren(cur.updated_by ? bidi(cur.updated_by) : 'Someone',
        ` saved ${cur.name} while you were editing (${ago(cur.updated)}); it is now at version ${cur.version}. What they changed:`);
      for (const line of edit.differences(cur, day, iso)) what.append(el('li', {text: line}));
      if (what.children.length === 0) what.append(el('li', {text: 'Nothing you can see: its details were saved again unchanged.'}));
      overwrite.hidden = false;
      hint(cur);
    }
    conflictBox.hidden = false;
    hooks.refresh(); // the list behind shows the secret as it is now
    conflictBox.scrollIntoView({block: 'nearest'});
    (overwrite.hidden ? $('.reload', form) : overwrite).focus();
  }

  async function reload() {
    try {
      const r = await call('GET', secretPath(edit.base.name));
      openEditor(r.data);
    } catch (p) {
      showProblem(box, p);
    }
  }

  // reveal fetches the current value into the field (a POST, audited).
  async function reveal() {
    box.hidden = true;
    try {
      const r = await call('POST', secretPath(edit.base.name, 'reveal'), {body: {}});
      const d = r.data;
      value.value = d.value !== undefined ? d.value : (d.value_base64 ? '' : '');
      if (d.value_base64) {
        showProblem(box, {title: 'Binary value', message: 'This value is not text; it can be replaced here but not shown.'});
      }
      edit.revealed();
      showRefs();
      show(true);
      revealBtn.hidden = true;
      value.focus();
    } catch (p) {
      showProblem(box, p);
    }
  }
}

// refocus gives the focus back after a save once the list is reloaded:
// closing the form gave it to the form's opener, and a row's Edit went
// with the old rows. The Edit of the secret's new row (by its name, a
// renamed one's new name) gets it, or "Add secret" if the row is gone
// (not on this page, not matching the search). Focus the user put
// elsewhere meanwhile stays there.
function refocus(name) {
  const a = document.activeElement;
  if (a && a !== document.body && a.isConnected) return;
  const b = document.querySelector(`tr[data-name="${CSS.escape(name)}"] button[data-act="edit"]`) || document.getElementById('add-btn');
  if (b) b.focus();
}
