// What the page knows, shared by its views, and the hooks by which one
// view asks another to update without importing it.

export const state = {
  me: null, // GET api/me: {actor, workspace, kind, can: {...}, due_within_hours}
  dueMs: 14 * 86400e3,
  search: '',
  deleted: false,
  next: '',
  scopes: [], // the environment scopes in use here and above (GET api/inherited)
  links: {}, // the host's links to the pages of the levels above
};

export const hooks = {
  // refresh reloads the list (and the due notice).
  refresh: async () => {},
  // highlight marks a row as just changed.
  highlight: () => {},
};

// can tells whether the caller may do an action (a hint from the server;
// the server enforces it whatever the page shows).
export function can(action) {
  return Boolean(state.me && state.me.can[action]);
}

// kind is what the page's container is ("workspace", "group", ...), as
// the host says (Caller.Kind).
export function kind() {
  return (state.me && state.me.kind) || 'workspace';
}

// isParent tells whether the container is a level that workspaces inherit
// from rather than a workspace: its secrets go to the jobs below it.
export function isParent() {
  return kind() !== 'workspace';
}
