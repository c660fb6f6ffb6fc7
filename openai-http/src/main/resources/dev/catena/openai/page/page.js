// Catena's live swarm page: polls GET /v1/catena/status every second and draws it; the chat box streams
// POST /v1/chat/completions (SSE read through fetch's ReadableStream). No build step, no dependencies.
'use strict';

const $ = id => document.getElementById(id);
const REFRESH_MS = 1000;
let modelName = null;
const history = [];

const keyInput = $('api-key');
keyInput.value = localStorage.getItem('catena.apiKey') || '';
keyInput.addEventListener('change', () => localStorage.setItem('catena.apiKey', keyInput.value.trim()));

function headers(extra) {
  const h = Object.assign({}, extra);
  const key = keyInput.value.trim();
  if (key) h.Authorization = 'Bearer ' + key;
  return h;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k === 'style') e.style.cssText = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const span = r => r ? `[${r.start}, ${r.end})` : '(whole route)';
const fmt = (x, digits) => Number.isFinite(x) && x > 0 ? x.toFixed(digits) : '–';
const mib = b => b > 0 ? (b / 1048576).toFixed(1) + ' MiB' : '–';
const stateOf = s => !s.reachable ? 'gone' : s.state.toLowerCase();

function setConnection(message) {
  const c = $('connection');
  c.hidden = !message;
  c.textContent = message || '';
}

async function refresh() {
  try {
    const r = await fetch('/v1/catena/status', { headers: headers(), cache: 'no-store' });
    if (!r.ok) {
      let message = r.status + ' ' + r.statusText;
      try { message = (await r.json()).error.message; } catch (ignored) { /* not JSON */ }
      setConnection('status: ' + message + (r.status === 401 ? ' (enter the API key above)' : ''));
    } else {
      render(await r.json());
      setConnection(null);
    }
  } catch (e) {
    setConnection('the server does not answer: ' + e.message);
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

function render(s) {
  modelName = s.name;
  $('model').textContent = `${s.name} · ${s.blocks} blocks`;
  const cov = $('coverage');
  cov.dataset.covered = String(s.covered);
  cov.textContent = s.covered ? `all ${s.blocks} blocks covered` : `uncovered blocks: ${s.gaps.map(span).join(', ')}`;
  $('reachable').textContent = `${s.servers_reachable} of ${s.servers.length} servers reachable`;
  renderBar(s);
  renderServers(s);
  renderSessions(s);
  renderFailovers(s);
}

function renderBar(s) {
  const bar = $('bar');
  bar.replaceChildren();
  const n = Math.max(1, s.blocks);
  for (const server of s.servers) {
    const state = stateOf(server);
    const left = 100 * server.span.start / n, width = 100 * (server.span.end - server.span.start) / n;
    bar.append(el('div', { class: 'lane' }, el('div', {
      class: 'seg ' + state, style: `left:${left}%;width:${width}%`, title: `${server.address} ${span(server.span)} ${state}`,
    }, `${server.address} ${span(server.span)}${state === 'gone' ? ' gone' : ''}`)));
  }
  const cells = el('div', { class: 'cells' });
  s.coverage.forEach((c, b) => cells.append(el('div', {
    class: 'cell' + (c === 0 ? ' gap' : c > 1 ? ' many' : ''), title: `block ${b}: ${c} server${c === 1 ? '' : 's'}`,
  })));
  bar.append(cells, el('div', { class: 'ticks' }, el('span', {}, '0'), el('span', {}, String(s.blocks))));
}

function renderServers(s) {
  const body = $('servers').tBodies[0];
  body.replaceChildren(...s.servers.map(server => {
    const state = stateOf(server);
    return el('tr', { class: state, 'data-address': server.address, 'data-state': state, title: server.error || '' },
      el('td', {}, server.address), el('td', {}, span(server.span)), el('td', { class: 'state' }, state),
      el('td', {}, fmt(server.throughput, 1)), el('td', {}, fmt(server.steps_per_second, 1)),
      el('td', {}, server.reachable ? mib(server.kv_bytes_free) : '–'),
      el('td', {}, server.sessions >= 0 ? server.sessions : '–'),
      el('td', {}, server.reachable && server.round_trip_millis > 0 ? server.round_trip_millis.toFixed(1) + ' ms' : '–'));
  }));
}

function renderSessions(s) {
  const body = $('sessions').tBodies[0];
  body.replaceChildren(...s.sessions.map(x => el('tr', {},
    el('td', {}, x.id),
    el('td', {}, x.route.length ? x.route.map(h => `${h.address} ${span(h.blocks)}`).join(' → ') : 'in process / opening'),
    el('td', {}, x.hop_steps), el('td', {}, (100 * x.push_share).toFixed(0) + ' %'))));
  const c = s.counters;
  $('counters').textContent = `open sessions ${c.open_sessions} · pushes used ${c.pushes_used} · mismatched ${c.pushes_mismatched}`
    + ` · failovers ${c.failovers} · KV in use ${mib(c.kv_bytes_in_use)}`;
}

function renderFailovers(s) {
  const body = $('failovers').tBodies[0];
  body.replaceChildren(...s.failovers.slice().reverse().map(f => el('tr', {},
    el('td', {}, new Date(f.time).toLocaleTimeString()), el('td', {}, span(f.blocks)), el('td', {}, f.from),
    el('td', {}, f.to.join(', ') || 're-planned'), el('td', {}, f.reason))));
}

// The chat: the whole conversation is sent each turn; the reply is appended as its chunks arrive.
$('chat-input').addEventListener('keydown', e => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('chat-form').requestSubmit(); }
});

$('chat-form').addEventListener('submit', async e => {
  e.preventDefault();
  const text = $('chat-input').value.trim();
  if (!text) return;
  $('chat-input').value = '';
  const log = $('chat-log');
  log.append(el('div', { class: 'msg user' }, text));
  const reply = el('span', { class: 'text' });
  const bubble = el('div', { class: 'msg assistant', 'data-done': 'false' }, reply);
  log.append(bubble);
  history.push({ role: 'user', content: text });
  $('chat-send').disabled = true;
  try {
    const r = await fetch('/v1/chat/completions', {
      method: 'POST', headers: headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ model: modelName, messages: history, stream: true,
        max_tokens: Math.max(1, parseInt($('chat-max-tokens').value, 10) || 128) }),
    });
    if (!r.ok) {
      let message = r.status + ' ' + r.statusText;
      try { message = (await r.json()).error.message; } catch (ignored) { /* not JSON */ }
      throw new Error(message);
    }
    await readEvents(r.body, data => {
      if (data.error) throw new Error(data.error.message);
      const delta = data.choices && data.choices[0] && data.choices[0].delta;
      if (delta && delta.content) {
        reply.textContent += delta.content;
        log.scrollTop = log.scrollHeight;
      }
    });
    history.push({ role: 'assistant', content: reply.textContent });
  } catch (err) {
    bubble.classList.add('failed');
    reply.textContent += (reply.textContent ? '\n' : '') + 'error: ' + err.message;
    history.pop();
  } finally {
    bubble.dataset.done = 'true';
    $('chat-send').disabled = false;
  }
});

/** Calls onData with each SSE event's parsed JSON until "data: [DONE]" or the end of the body. */
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') { reader.cancel().catch(() => {}); return; }
        onData(JSON.parse(data));
      }
    }
  }
}

refresh();
