// "What will a job get?": for a job in an environment the editor picks,
// protected or not, each secret of this workspace and of the levels above
// it, with the level, scope and version, and what the job does with it.
// Names only: values are never asked for.

import {call} from './api.js';
import {$, badges, el, openDrawer, showProblem} from './ui.js';
import {state, kind, isParent} from './state.js';
import {scopeLabel} from './editor_model.js';
import {containerName} from './inherited.js';

// statuses are the words for what a job does with a secret
// (secrets.Resolved.Status), with a longer explanation.
const statuses = {
  'delivered': ['delivered', 'The job gets this value.'],
  'overridden': ['overridden', 'A nearer level or a more specific scope has this name: the job gets that one.'],
  'withheld': ['withheld', 'The host keeps it from this job: the job does not get the name at all.'],
  'expired': ['expired', 'Past its expiry: left out, as if absent.'],
  'protected': ['protected jobs only', 'Protected: only protected jobs get it.'],
  'other-environment': ['other environment', 'Its scope does not match this environment.'],
  'refused': ['refused', 'A job would get it, and is refused for it: its name is one the rules now refuse (rename or delete it), it is past its expiry, or it is stored twice.'],
};

// openResolve opens the preview, for a job in no environment, unprotected.
export function openResolve() {
  const form = el('form', {class: 'resolve-form', attrs: {novalidate: ''}});
  const env = el('input', {id: 'p-env', name: 'environment', autocomplete: 'off', spellcheck: false, autocapitalize: 'off',
    attrs: {list: 'p-envs', maxlength: '255', placeholder: 'none (only * secrets apply)', 'aria-describedby': 'p-env-hint'}});
  const envs = el('datalist', {id: 'p-envs'}, ...state.scopes.filter((s) => !s.includes('*')).map((s) => el('option', {value: s})));
  const prot = el('input', {type: 'checkbox', id: 'p-protected', name: 'protected'});
  form.append(
    el('div', {class: 'field'}, el('label', {attrs: {for: 'p-env'}, text: 'Environment'}), env, envs,
      el('p', {class: 'hint', id: 'p-env-hint', text: 'The job’s environment, such as production or review/feature-1.'})),
    el('div', {class: 'field check'}, el('label', {}, prot, ' Protected job'),
      el('p', {class: 'hint', text: 'A protected branch, tag or deploy: it also gets protected secrets.'})));
  const box = el('div', {class: 'problem', attrs: {role: 'alert'}, hidden: true});
  // Only the summary's sentence is announced (a live region holding the
  // table would read it all out again at each pause in typing).
  const said = el('p', {class: 'sr-only', attrs: {role: 'status'}});
  const out = el('div', {class: 'resolve-out'}, el('p', {class: 'muted', text: 'Loading…'}));
  const body = el('div', {}, form, box, said, out);
  openDrawer('What will a job get?', body, {focus: env, wide: true});

  let seq = 0; // answers to older questions are dropped
  let timer = 0;
  const show = async () => {
    const my = ++seq;
    const q = new URLSearchParams();
    const e = env.value.trim();
    if (e) q.set('environment', e);
    if (prot.checked) q.set('protected', 'true');
    let data;
    try {
      data = (await call('GET', 'resolve' + (q.size ? '?' + q : ''))).data;
    } catch (p) {
      if (my !== seq) return;
      env.setAttribute('aria-invalid', 'true');
      showProblem(box, p);
      said.textContent = '';
      out.replaceChildren();
      return;
    }
    if (my !== seq) return;
    env.removeAttribute('aria-invalid');
    box.hidden = true;
    Object.assign(state.links, data.links || {});
    out.replaceChildren(...render(data.secrets, e, prot.checked));
    said.textContent = $('.summary strong', out).textContent;
    body.dataset.shown = `${e}|${prot.checked}`;
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); show(); });
  env.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(show, 250); });
  env.addEventListener('change', () => { clearTimeout(timer); show(); });
  prot.addEventListener('change', show);
  show();
}

// render is the summary and the table of rs for a job in env.
function render(rs, env, prot) {
  const job = `A${prot ? ' protected' : 'n unprotected'} job in ${env ? env : 'no environment'}`;
  const n = rs.filter((r) => r.status === 'delivered').length;
  const refused = rs.filter((r) => r.status === 'refused').map((r) => r.variable);
  const here = `this ${kind()}`;
  const head = refused.length ?
    `${job} is refused and gets nothing, for ${refused.join(', ')}: a name the rules now refuse, a secret past its expiry, or a name stored twice.` :
    `${job} gets ${n} secret${n === 1 ? '' : 's'}.`;
  const summary = el('p', {class: 'summary'}, el('strong', {text: head}),
    isParent() ? ` That is, a job of a workspace below ${here} where neither the workspace nor a level between has the name.` : null,
    ` For each name the nearest level wins (${here} first); within a level, the most specific environment scope. Values are never shown.`);
  const expanding = rs.filter((r) => r.status === 'delivered' && r.expands).length;
  if (expanding) {
    summary.append(` ${expanding} of them ${expanding === 1 ? 'composes' : 'compose'} others (\${NAME}): a reference the job does not get fails the whole job when it starts, which this preview, reading no values, cannot tell.`);
  }
  if (rs.length === 0) return [summary, el('p', {class: 'muted', text: 'There are no secrets here or above.'})];
  const rows = rs.map((r) => {
    const [word, why] = statuses[r.status] || [r.status, ''];
    return el('tr', {attrs: {'data-status': r.status, 'data-name': r.name, 'data-container': r.container}},
      el('td', {class: 'namecell'}, el('code', {text: r.variable}), badges({protected: r.protected}, 0)),
      el('td', {attrs: {'data-label': 'From'}}, r.container === state.me.workspace ? el('span', {text: here}) : containerName(r.container)),
      el('td', {attrs: {'data-label': 'Environment'}, text: scopeLabel(r.scope)}),
      el('td', {attrs: {'data-label': 'Version'}, text: 'v' + r.version}),
      el('td', {class: 'status', attrs: {'data-label': 'A job', title: why}}, word,
        r.expands && r.status === 'delivered' ? el('div', {class: 'refs-note muted', text: 'references checked at start'}) : null));
  });
  return [summary, el('table', {class: 'resolve'},
    el('thead', {}, el('tr', {}, ...['Name', 'From', 'Environment', 'Version', 'A job'].map((h) => el('th', {attrs: {scope: 'col'}, text: h})))),
    el('tbody', {}, ...rows))];
}
