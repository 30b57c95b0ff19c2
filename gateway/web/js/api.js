// The gateway's REST + SSE API, with the optional API key (asked for once, on the first 401).

const KEY_STORAGE = 'reelforge.apiKey';

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || '';
    // google.rpc.BadRequest's field violations: [{field, description}]
    this.violations = (body.details || []).flatMap((d) => d.fieldViolations || []);
  }
}

let askForKey = async () => false;
let pendingAsk = null;

/** `ask` opens the key dialog and resolves true once a new key is stored. */
export function onKeyNeeded(ask) {
  askForKey = ask;
}

export const apiKey = {
  get: () => localStorage.getItem(KEY_STORAGE) || '',
  set: (key) => localStorage.setItem(KEY_STORAGE, key),
  forget: () => localStorage.removeItem(KEY_STORAGE),
};

function headers(extra) {
  const key = apiKey.get();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// One dialog for however many calls were refused at once.
function keyFromUser() {
  pendingAsk ??= askForKey().finally(() => { pendingAsk = null; });
  return pendingAsk;
}

async function send(method, path, { body, file, accept = 'application/json', signal } = {}) {
  for (;;) {
    const init = { method, signal, headers: headers({ Accept: accept }) };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    } else if (file) {
      init.headers['Content-Type'] = file.type || 'application/octet-stream';
      init.body = file; // the bytes themselves: the gateway reads their type from them
    }
    const response = await fetch(path, init);
    if (response.status !== 401 || !(await keyFromUser())) return response;
  }
}

async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return new ApiError(response.status, body);
}

/** A unary call: the JSON answer, or an ApiError carrying the gateway's message. */
export async function call(method, path, body) {
  const response = await send(method, path, { body });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** POST /api/artifacts: stores a file (a logo, a product photo) and answers its Artifact. */
export async function upload(file) {
  const response = await send('POST', '/api/artifacts', { file });
  if (!response.ok) throw await failure(response);
  return response.json();
}

function parseEvent(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue; // heartbeat comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  return { name, data: data.join('\n') };
}

/**
 * A server stream read as SSE through fetch() (EventSource cannot send the API key).
 * Calls onMessage per message; resolves true at `event: end`, false when the connection
 * closed without it (the caller reconnects); throws ApiError for an error event.
 */
export async function stream(method, path, { body, onMessage, signal }) {
  const response = await send(method, path, { body, signal, accept: 'text/event-stream' });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buffer += value.replaceAll('\r\n', '\n');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = parseEvent(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (event.name === 'end') return true;
      if (event.name === 'error') throw new ApiError(0, JSON.parse(event.data));
      if (event.data) onMessage(JSON.parse(event.data));
    }
  }
}

const blobUrls = new Map();

/**
 * A URL the page can put in src/href for a gateway path. With a key, the bytes are fetched
 * with it (an <img> or <video> cannot send headers) and kept as a blob: URL; artifacts are
 * content-addressed, so one fetch per path is enough.
 */
export async function mediaUrl(path) {
  if (!apiKey.get()) return path;
  if (!blobUrls.has(path)) {
    const loading = send('GET', path, { accept: '*/*' }).then(async (response) => {
      if (!response.ok) throw await failure(response);
      return URL.createObjectURL(await response.blob());
    });
    loading.catch(() => blobUrls.delete(path));
    blobUrls.set(path, loading);
  }
  return blobUrls.get(path);
}
