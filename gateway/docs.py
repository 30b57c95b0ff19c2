"""`/openapi.json` and `/docs`: a self-contained page (no CDN) that renders the routes from it."""

from __future__ import annotations

from aiohttp import web

from gateway.keys import OPENAPI_KEY

_DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reelforge API</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:2rem;max-width:70rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
code{background:#f4f4f4;padding:0 .2rem}.verb{font-weight:bold;text-transform:uppercase}
pre{background:#f8f8f8;padding:.5rem;overflow:auto;max-height:20rem}
</style></head><body>
<h1>reelforge API</h1>
<p>Generated from <a href="/openapi.json">/openapi.json</a>.
<label>API key <input id="key" type="password" size="30"></label> <button id="load">Load</button></p>
<p id="status"></p><table id="routes"></table><h2>Schemas</h2><div id="schemas"></div>
<script>
async function load() {
  const key = document.getElementById('key').value;
  const headers = key ? {Authorization: 'Bearer ' + key} : {};
  const res = await fetch('/openapi.json', {headers});
  const status = document.getElementById('status');
  if (!res.ok) { status.textContent = 'GET /openapi.json: ' + res.status + ' (an API key may be needed)'; return; }
  status.textContent = '';
  const spec = await res.json();
  const rows = ['<tr><th>method</th><th>path</th><th>operation</th><th>request</th><th>response</th></tr>'];
  const name = (s) => s && s.$ref ? s.$ref.split('/').pop() : '';
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [verb, op] of Object.entries(ops)) {
      const body = op.requestBody ? name(op.requestBody.content['application/json'].schema) : '';
      const params = (op.parameters || []).map(p => p.name + ' (' + p.in + ')').join(', ');
      const ok = (op.responses['200'] || {}).content || {};
      const out = Object.values(ok).map(c => name(c.schema) || name(c['x-message-schema'])).filter(Boolean)[0] || '';
      const stream = op['x-server-streaming'] ? ' <em>(SSE stream)</em>' : '';
      rows.push('<tr><td class="verb">' + verb + '</td><td><code>' + path + '</code></td><td>' +
        (op.summary || op.operationId) + stream + '</td><td>' + [body, params].filter(Boolean).join('; ') +
        '</td><td>' + out + '</td></tr>');
    }
  }
  document.getElementById('routes').innerHTML = rows.join('');
  const schemas = document.getElementById('schemas');
  schemas.innerHTML = '';
  for (const [key, schema] of Object.entries(spec.components.schemas)) {
    const h = document.createElement('h3'); h.textContent = key;
    const pre = document.createElement('pre'); pre.textContent = JSON.stringify(schema, null, 2);
    schemas.append(h, pre);
  }
}
document.getElementById('load').onclick = load;
load();
</script></body></html>
"""


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_KEY])


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=_DOCS_HTML, content_type="text/html")
