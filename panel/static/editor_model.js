// The editor's state, apart from the page: the secret as the editor last
// saw it (its base), the fields the editor changed (dirty), what a save
// sends (a new secret's body, or the changes of a PATCH), and, when
// someone else saved first, what they changed. No DOM and no requests:
// the view (editor.js) reads its form into a plain object and shows what
// this module says, and the tests run this module alone
// (editor_model_test.go).
//
// A form is the editor's input as a plain object: {name, scope, value,
// description, expires, rotate_by, write_only, file, protected, expand}, with the
// dates as <input type=date> holds them (YYYY-MM-DD, or '' for none). name
// is the variable alone; scope its environment scope ('*' or '' for every
// environment). A secret's whole name is scopedName(name, scope).

// namePattern is what a secret's name looks like (the server decides).
export const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

// scopedName is a secret's whole name, as secrets.ScopedName makes it: the
// variable alone for every environment, variable@scope otherwise.
export const scopedName = (variable, scope) => (scope === '' || scope === '*' ? variable : `${variable}@${scope}`);

// splitName is a whole name's variable and scope ('*' for none), as
// secrets.SplitName splits it.
export function splitName(name) {
  const i = name.indexOf('@');
  return i < 0 ? [name, '*'] : [name.slice(0, i), name.slice(i + 1)];
}

// references are the names value references with ${NAME}, each once, in
// the order of their first reference: secrets.References, the same
// syntax. NAME is [A-Za-z_][A-Za-z0-9_]*; $${ is a literal ${; anything
// else ($NAME, a lone $, ${ without its }, ${1X}, ${A:-b}) is literal.
export function references(value) {
  const out = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== '$') continue;
    if (value.startsWith('$${', i)) {
      i += 2; // the escape and its ${, literal
      continue;
    }
    if (!value.startsWith('${', i)) continue;
    const end = value.indexOf('}', i + 2);
    if (end < 0) continue;
    const name = value.slice(i + 2, end);
    if (!namePattern.test(name)) continue; // literal: scanning goes on after the $
    if (!out.includes(name)) out.push(name);
    i = end;
  }
  return out;
}

// undefinedWarning is what the page says after a save when the saved
// secret (meta) expands references that no scope defines yet
// (meta.undefined), or ''. A warning, not a refusal: the names may be
// added later, and until then a job that gets the secret fails.
export function undefinedWarning(meta) {
  const u = (meta && meta.undefined) || [];
  if (u.length === 0) return '';
  return `Warning: ${meta.name} references ${u.length === 1 ? 'a name' : 'names'} not defined in any scope yet: ` +
    `${u.join(', ')}. Jobs that get it fail until ${u.length === 1 ? 'it is' : 'they are'} added.`;
}

// scopeProblem says what is wrong with a scope the editor typed, or ''
// (the server decides; this is the common mistakes, said early).
export function scopeProblem(scope) {
  if (scope === '' || scope === '*') return '';
  if (/\s/.test(scope)) return 'A scope has no spaces: an environment’s name, such as production, or a pattern such as review/*.';
  if (scope.indexOf('*') !== scope.length - 1 && scope.includes('*')) return 'A * may only end a scope, as in review/*.';
  return '';
}

// scopeLabel is how the page shows a scope.
export const scopeLabel = (scope) => (!scope || scope === '*' ? 'All environments' : scope);

// Dates in forms: <input type=date> holds YYYY-MM-DD; the API midnight UTC.
export const toDateInput = (iso) => (iso ? iso.slice(0, 10) : '');
export const fromDateInput = (v) => (v ? v + 'T00:00:00Z' : '');

// formOf is the form as the secret meta fills it (null: a new secret's
// empty form). The value is always empty: it is never loaded.
export function formOf(meta) {
  // A new secret's environment is empty, so that its placeholder shows
  // (empty means every environment) and typing gives what is typed.
  const [variable, scope] = meta ? splitName(meta.name) : ['', ''];
  return {
    name: variable,
    scope,
    value: '',
    description: meta ? meta.description || '' : '',
    expires: meta ? toDateInput(meta.expires) : '',
    rotate_by: meta ? toDateInput(meta.rotate_by) : '',
    write_only: Boolean(meta && meta.write_only),
    file: Boolean(meta && meta.file),
    protected: Boolean(meta && meta.protected),
    expand: Boolean(meta && meta.expand),
  };
}

// unmasked tells whether a value is too short for the Redactor to mask it
// in jobs' output: shorter than min bytes (it counts bytes, not
// characters). An empty value (unchanged) is not.
export function unmasked(value, min) {
  return value !== '' && new TextEncoder().encode(value).length < min;
}

// An Edit is one opening of the editor: for a new secret (meta null) or
// for the secret meta.
export class Edit {
  constructor(meta) {
    this.base = meta; // the secret as the editor last saw it
    this.theirs = null; // the revision a conflict showed, which overwrite saves over
    this.dirty = new Set(); // the fields the editor changed
  }

  // touch records that the editor changed the field name.
  touch(name) {
    if (name) this.dirty.add(name);
  }

  // revealed records that the value field now holds the current value,
  // as loaded, not a change.
  revealed() {
    this.dirty.delete('value');
  }

  // check returns the first problem of form that is known before asking
  // the server, as {field, message}, or null.
  check(form) {
    const name = form.name.trim();
    if (!name) return {field: 'name', message: 'Give the secret a name.'};
    if (!namePattern.test(name)) {
      return {field: 'name', message: 'A name has only letters, digits and _, and does not start with a digit.'};
    }
    const sp = scopeProblem((form.scope || '').trim());
    if (sp) return {field: 'scope', message: sp};
    if (!this.base && form.value === '') return {field: 'value', message: 'Give the secret a value.'};
    if (form.write_only && form.expand) {
      return {field: 'expand', message: 'A write-only secret cannot expand references: the names it references would show in errors.'};
    }
    return null;
  }

  // created is the body that adds the new secret of form.
  created(form) {
    const body = {name: form.name.trim(), scope: (form.scope || '').trim() || '*', value: form.value,
      description: form.description, write_only: form.write_only, file: form.file, protected: Boolean(form.protected),
      expand: Boolean(form.expand)};
    for (const n of ['expires', 'rotate_by']) if (form[n]) body[n] = fromDateInput(form[n]);
    return body;
  }

  // references are the names the form's value references, shown beside
  // it: none unless the form expands references, and none for a value
  // not typed or revealed (an existing secret's value is never loaded).
  references(form) {
    return form.expand && form.value ? references(form.value) : [];
  }

  // renameTo is the whole name form gives the secret (its variable in
  // its scope) if it differs from base's, or '': changing the scope is a
  // rename to the new whole name.
  renameTo(form) {
    const name = scopedName(form.name.trim(), (form.scope || '').trim() || '*');
    return name !== this.base.name ? name : '';
  }

  // saved records the secret as the server answered a write (a rename):
  // the new base.
  saved(meta) {
    this.base = meta;
  }

  // changes are the fields of form to send: those the editor changed that
  // differ from base (after a conflict and overwrite, base is the other
  // person's revision, so their changes to other fields are kept). An
  // empty value keeps the current one.
  changes(form) {
    const out = {};
    const has = (n) => this.dirty.has(n);
    const base = this.base;
    if (has('value') && form.value !== '') out.value = form.value;
    if (has('description') && form.description !== (base.description || '')) out.description = form.description;
    for (const n of ['expires', 'rotate_by']) {
      if (has(n) && form[n] !== toDateInput(base[n])) out[n] = fromDateInput(form[n]);
    }
    for (const n of ['write_only', 'file', 'protected', 'expand']) {
      if (has(n) && Boolean(form[n]) !== Boolean(base[n])) out[n] = Boolean(form[n]);
    }
    return out;
  }

  // conflict records the secret as the server said it is now, when it
  // refused a save (cur: null if it was destroyed). Only a secret that
  // still lives can be saved over.
  conflict(cur) {
    this.theirs = cur && !cur.deleted ? cur : null;
  }

  // overwrite makes the revision of the last conflict the base, so that
  // changes are saved over it. It returns false if there is none.
  overwrite() {
    if (!this.theirs) return false;
    this.base = this.theirs;
    this.theirs = null;
    return true;
  }

  // differences says, in words, how cur differs from base, and whether
  // the editor changed the same field. day formats a date for humans;
  // text, if given, wraps what a user wrote (an actor, a description),
  // to isolate its direction from the sentence around it.
  differences(cur, day, text = (s) => s) {
    const old = this.base;
    const out = [];
    const mine = (n) => (this.dirty.has(n) ? ' (you changed it too)' : '');
    if (cur.version !== old.version) {
      out.push(`The value: version ${old.version} → ${cur.version}, by ${text(cur.value_updated_by)}${mine('value')}.`);
    }
    if ((cur.description || '') !== (old.description || '')) {
      out.push(`The description: now “${text(cur.description || '')}”${mine('description')}.`);
    }
    const d = (iso) => (iso ? day(iso) : 'none');
    if (toDateInput(cur.expires) !== toDateInput(old.expires)) out.push(`Expiry: ${d(old.expires)} → ${d(cur.expires)}${mine('expires')}.`);
    if (toDateInput(cur.rotate_by) !== toDateInput(old.rotate_by)) out.push(`Rotate by: ${d(old.rotate_by)} → ${d(cur.rotate_by)}${mine('rotate_by')}.`);
    if (Boolean(cur.write_only) !== Boolean(old.write_only)) out.push(`It was made write-only${mine('write_only')}.`);
    if (Boolean(cur.file) !== Boolean(old.file)) out.push(`Delivered as a file: ${cur.file ? 'yes' : 'no'}${mine('file')}.`);
    if (Boolean(cur.protected) !== Boolean(old.protected)) {
      out.push(`${cur.protected ? 'Made protected: only protected jobs get it' : 'No longer protected: every job gets it'}${mine('protected')}.`);
    }
    if (Boolean(cur.expand) !== Boolean(old.expand)) {
      out.push(`${cur.expand ? 'Made to expand its ${…} references' : 'No longer expands its ${…} references: jobs get the text as it is'}${mine('expand')}.`);
    }
    if (cur.name !== old.name) out.push(`Renamed from ${old.name} to ${cur.name}.`);
    return out;
  }
}
