// The runner of editor_model_test.go: it plays one case of the table on
// editor_model.js alone (no page, no DOM), as the editor would, and says
// what the model answered.
//
// A case: base (the secret the editor opened, null for a new one), dirty
// (the fields the editor touched), form (the fields as the editor left
// them, over the form base fills), conflict (a save was refused) with
// current (the secret as the server said it is now, null if destroyed),
// min (the shortest value the Redactor masks, 0: not asked), saved (the
// secret a save answered, for its warning) and syntax (values whose
// references are asked).

import {Edit, formOf, unmasked, references, undefinedWarning} from './editor_model.js';

// day stands in for the page's date format, which follows the browser's
// language.
const day = (iso) => iso.slice(0, 10);

window.runCase = (c) => {
  const edit = new Edit(c.base);
  for (const n of c.dirty || []) edit.touch(n);
  const form = {...formOf(c.base), ...(c.form || {})};
  const out = {problem: edit.check(form)};
  if (c.min) out.unmasked = unmasked(form.value, c.min);
  const refs = edit.references(form);
  if (refs.length > 0) out.references = refs;
  if (c.saved) out.warning = undefinedWarning(c.saved);
  if (c.syntax) out.syntax = c.syntax.map((v) => { const r = references(v); return r.length > 0 ? r : null; });
  if (!c.base) {
    out.created = edit.created(form);
    return out;
  }
  if (c.conflict) {
    if (c.current && !c.current.deleted) out.differences = edit.differences(c.current, day);
    edit.conflict(c.current);
    out.overwrite = edit.overwrite();
  }
  out.rename = edit.renameTo(form); // at save, after "save mine"
  out.changes = edit.changes(form);
  return out;
};

document.body.dataset.loaded = 'yes';
