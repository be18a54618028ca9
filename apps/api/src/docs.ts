/**
 * An interactive page over /openapi.json: it lists the operations from the spec and can send a
 * status-count request. Self-contained (no CDN), so it works offline and under a strict CSP.
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tally API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  code, pre, input { font: 13px ui-monospace, monospace; }
  .op { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; margin: .5rem 0; }
  .method { font-weight: bold; text-transform: uppercase; margin-right: .5rem; }
  label { display: block; margin: .5rem 0; }
  input { width: 22rem; padding: .25rem; }
  pre { background: #f6f6f6; padding: 1rem; border-radius: 6px; overflow: auto; }
</style>
</head>
<body>
<h1>Tally API</h1>
<p id="description"></p>
<p>The machine-readable description is at <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).
The <a href="/">dashboard</a> charts the counts over time.</p>
<h2>Operations</h2>
<div id="operations"></div>
<h2>Try it: POST /status-counts</h2>
<form id="try">
  <label>start_time <input name="start_time" value="2024-01-31T00:00:00Z"></label>
  <label>end_time <input name="end_time" value="2024-02-01T00:00:00Z"></label>
  <label>token (only when API_TOKEN is set) <input name="token" type="password"></label>
  <button>Send</button>
</form>
<pre id="result">The response appears here.</pre>
<script>
  const text = (tag, content, className) => {
    const node = document.createElement(tag);
    node.textContent = content;
    if (className) node.className = className;
    return node;
  };
  fetch('/openapi.json').then((r) => r.json()).then((spec) => {
    document.getElementById('description').textContent = spec.info.description;
    const list = document.getElementById('operations');
    for (const [path, operations] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const box = text('div', '', 'op');
        box.append(text('span', method, 'method'), text('code', path), text('p', op.summary));
        const codes = Object.entries(op.responses).map(([code, r]) => code + ' ' + (r.description || ''));
        box.append(text('small', codes.join(' · ')));
        list.append(box);
      }
    }
  });
  document.getElementById('try').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const headers = { 'content-type': 'application/json' };
    if (form.get('token')) headers.authorization = 'Bearer ' + form.get('token');
    const response = await fetch('/status-counts', {
      method: 'POST',
      headers,
      body: JSON.stringify({ start_time: form.get('start_time'), end_time: form.get('end_time') }),
    });
    document.getElementById('result').textContent =
      response.status + ' ' + response.statusText + '\\n' + JSON.stringify(await response.json(), null, 2);
  });
</script>
</body>
</html>
`;
