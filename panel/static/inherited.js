// The Inherited section: the secrets of the levels this workspace inherits
// from (a group, the instance), by level, nearest first, with their
// environment scope, version, whether a nearer level has the same name
// and, when the caller may see that level itself, when they changed. Never
// a value. Each level links to its own page when the host gives its
// address.

import {call} from './api.js';
import {el, bidi, iso, $, timeEl, badges} from './ui.js';
import {state} from './state.js';
import {scopeLabel} from './editor_model.js';

// loadInherited fills the section, and the scopes the editor and the
// preview suggest. A failure leaves the section hidden: the page works
// without it.
export async function loadInherited() {
  const box = $('#inherited');
  let data;
  try {
    data = (await call('GET', 'inherited')).data;
  } catch {
    box.hidden = true;
    return;
  }
  state.scopes = data.scopes;
  state.links = {};
  for (const l of data.levels) if (l.url) state.links[l.container] = l.url;
  $('.here', box).replaceChildren(bidi(state.me.workspace));
  $('#inherited-levels').replaceChildren(...data.levels.map(level));
  box.hidden = data.levels.length === 0;
}

// containerName is a level's name, a link to its page when the host gives
// one; isolated (see bidi).
export function containerName(container) {
  const url = state.links[container];
  return url ? el('a', {href: url}, bidi(container)) : bidi(container);
}

// nearerNote says that a nearer level (this workspace, or a parent
// nearer than the secret's) has the same name: which of the two a job gets
// depends on its environment and protection, which the preview tells.
const nearerTitle = 'A nearer level has this name too. Which value a job gets depends on its environment and on whether it is protected: see “What will a job get?”.';
function nearerNote(s) {
  if (!s.nearer) return null;
  const where = s.nearer === state.me.workspace ? ['here'] : ['in ', containerName(s.nearer)];
  return el('div', {class: 'nearer muted', attrs: {title: nearerTitle}}, 'also set ', ...where);
}

function level(l, i) {
  const rows = l.secrets.map((s) => el('tr', {attrs: {'data-name': s.name, 'data-container': l.container}},
    el('td', {class: 'namecell'}, el('code', {class: 'name', text: s.variable}),
      el('div', {class: 'badges'}, badges({protected: s.protected}, 0)), nearerNote(s)),
    el('td', {class: 'scope' + (s.scope === '*' ? ' all' : ''), attrs: {'data-label': 'Environment'}}, scopeLabel(s.scope)),
    el('td', {attrs: {'data-label': 'Updated'}}, l.listed ? timeEl(s.updated) : el('span', {class: 'muted', text: '—'})),
    el('td', {attrs: {'data-label': 'By'}}, bidi(s.updated_by || '—')),
    el('td', {attrs: {'data-label': 'Version'}, text: 'v' + s.version})));
  const head = el('h3', {class: 'level'}, `Level ${i + 1} · `, containerName(l.container),
    el('span', {class: 'muted', text: ` · ${l.secrets.length} secret${l.secrets.length === 1 ? '' : 's'}`}));
  const note = l.listed ? null : el('p', {class: 'hint', text: 'You may not open this level, so when its secrets changed is not shown.'});
  return el('section', {class: 'level', attrs: {'data-container': l.container}}, head, note,
    el('table', {class: 'secrets inherited'},
      el('caption', {class: 'sr-only', text: `Secrets inherited from ${iso(l.container)}`}),
      el('thead', {}, el('tr', {}, ...['Name', 'Environment', 'Updated', 'By', 'Version'].map((h) => el('th', {attrs: {scope: 'col'}, text: h})))),
      el('tbody', {}, ...rows)));
}
