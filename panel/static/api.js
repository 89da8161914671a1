// The panel's JSON API, as the page calls it. Every request goes to the
// page's own origin, relative to the page (the host decides where the panel
// is mounted). State-changing requests carry the X-Secrets-Panel header and
// a JSON body: the server refuses them otherwise (CSRF defence). Values only
// ever travel in bodies, never in a URL.

const typeBase = 'https://pkg.go.dev/github.com/dataspace/secrets/panel#';

// is tells whether a problem has the type of the given name, such as
// is(p, 'ProblemConflict').
export function is(p, name) {
  return p instanceof Problem && p.type === typeBase + name;
}

// A Problem is an error the API answered (RFC 9457), or a network failure
// (status 0).
export class Problem extends Error {
  constructor(status, body, etag) {
    super(body.detail || body.title || `The server answered ${status}.`);
    this.status = status;
    this.type = body.type || '';
    this.title = body.title || 'Error';
    this.body = body;
    this.etag = etag || '';
  }
}

// call makes one API request. path is relative to api/. opts.body is sent
// as JSON; opts.ifMatch as If-Match. It resolves to {status, etag, data}
// (data: parsed JSON, a Blob, or null) and rejects with a Problem.
export async function call(method, path, opts = {}) {
  const headers = {Accept: 'application/json'};
  const init = {method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error'};
  if (method !== 'GET') {
    headers['X-Secrets-Panel'] = '1';
    if (method !== 'DELETE') {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body === undefined ? {} : opts.body);
    }
  }
  if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
  let res;
  try {
    res = await fetch('api/' + path, init);
  } catch {
    throw new Problem(0, {title: 'Network error', detail: 'The server could not be reached. Check the connection and try again.'});
  }
  const etag = res.headers.get('ETag') || '';
  const ct = res.headers.get('Content-Type') || '';
  if (!res.ok) {
    let body = {};
    if (ct.startsWith('application/problem+json') || ct.startsWith('application/json')) {
      try { body = await res.json(); } catch { body = {}; }
    }
    throw new Problem(res.status, body, etag);
  }
  if (res.status === 204) return {status: res.status, etag, data: null};
  if (ct.startsWith('application/json')) return {status: res.status, etag, data: await res.json()};
  return {status: res.status, etag, data: await res.blob()};
}

// secretPath is the API path of one secret, or of one of its actions.
export function secretPath(name, action) {
  return 'secrets/' + encodeURIComponent(name) + (action ? '/' + action : '');
}

// etagOf is the If-Match value for a secret's metadata.
export function etagOf(meta) {
  return '"' + meta.revision + '"';
}
