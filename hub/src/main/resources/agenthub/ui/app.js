// agenthub live dashboard: one EventSource, a snapshot of the cluster every second, no libraries.
(function () {
  'use strict';
  const WINDOW = 900; // points kept: 15 minutes at one a second
  const rates = [];
  const means = [];
  const maxes = [];
  let source;
  let last = null;

  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
  const usd = (v) => { const n = Number(v || 0); return '$' + (n === 0 || n >= 1 ? n.toFixed(2) : n.toPrecision(3)); };

  function connect() {
    const token = sessionStorage.getItem('agenthub-token');
    source = new EventSource('/ui/events' + (token ? '?token=' + encodeURIComponent(token) : ''));
    source.onmessage = (e) => { $('status').textContent = 'live'; render(JSON.parse(e.data)); };
    source.onerror = () => {
      $('status').textContent = 'disconnected: retrying (a token may be needed)';
      $('login').hidden = false;
    };
  }

  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem('agenthub-token', $('token').value);
    $('login').hidden = true;
    if (source) { source.close(); }
    connect();
  });

  function push(series, v) { series.push(v); if (series.length > WINDOW) { series.shift(); } }

  function line(values, max, color) {
    if (values.length < 2) { return ''; }
    const step = 900 / (WINDOW - 1);
    const offset = (WINDOW - values.length) * step;
    const pts = values.map((v, i) => (offset + i * step).toFixed(1) + ',' + (118 - (v / max) * 112).toFixed(1));
    return '<polyline fill="none" stroke="' + color + '" stroke-width="1.5" points="' + pts.join(' ') + '"/>';
  }

  function render(s) {
    last = s;
    $('nodes').innerHTML = s.nodes.map((n) => '<div class="node" data-node="' + esc(n.name) + '" data-state="' + esc(n.state) + '">'
      + '<b>' + esc(n.name) + '</b>' + (n.state === 'up'
        ? esc((n.roles || []).join(', ')) + '<br><span class="muted">' + esc(n.address || '') + '</span><br>up since '
          + esc(n.since || '') + '<br>' + Number(n.rate || 0).toFixed(1) + ' msg/s'
        : '<span class="muted">down</span>') + '</div>').join('');
    const up = s.nodes.filter((n) => n.state === 'up');
    push(rates, s.messages_per_s || 0);
    push(means, up.reduce((m, n) => Math.max(m, n.turn_p50_ms || 0), 0));
    push(maxes, up.reduce((m, n) => Math.max(m, n.turn_p99_ms || 0), 0));
    $('rate').textContent = Number(s.messages_per_s || 0).toFixed(1) + ' messages/s, ' + Math.round(s.messages_total || 0) + ' in all';
    $('rate-chart').innerHTML = line(rates, Math.max(1, ...rates), '#3d7bd9');
    const lmax = Math.max(1, ...maxes);
    $('latency-chart').innerHTML = line(means, lmax, '#2e9e5b') + line(maxes, lmax, '#c8423b');
    $('agents').querySelector('tbody').innerHTML = s.agents.map((a) => '<tr data-agent="' + esc(a.id) + '"><td>' + esc(a.id)
      + '</td><td>' + esc(a.trust) + '</td><td>' + a.instances + '</td><td>'
      + a.running.map((r) => esc(r.instance)).join(', ') + '</td><td>' + Math.round(a.queue || 0) + '</td></tr>').join('');
    const sp = s.spend || {};
    $('month').textContent = sp.month ? sp.month + ': ' + usd(sp.month_to_date_usd) + ' so far, ' + usd(sp.projected_usd) + ' projected' : '';
    const byAgent = sp.by_agent || {};
    const top = Math.max(1e-9, ...Object.values(byAgent), ...Object.values(sp.by_model || {}));
    const bars = (obj) => Object.entries(obj).map(([k, v]) => '<div class="row"><span>' + esc(k) + '</span><div class="bar" style="width:'
      + Math.max(1, 100 * v / top) + '%"></div><span>' + usd(v) + '</span></div>').join('');
    $('spend').innerHTML = '<h3>by agent</h3>' + bars(byAgent) + '<h3>by model</h3>' + bars(sp.by_model || {});
    $('budgets').innerHTML = (sp.budgets || []).map((b) => {
      const share = b.limit_usd > 0 ? (sp.projected_usd && b.scope === 'global' ? sp.projected_usd : b.used_usd) / b.limit_usd : 0;
      return '<div class="row"><span>' + esc(b.scope) + ' (' + esc(b.state) + ')</span><div class="bar' + (share > 1 ? ' over' : '')
        + '" style="width:' + Math.min(100, Math.max(1, 100 * share)) + '%"></div><span>' + usd(b.used_usd) + ' / $' + b.limit_usd + '</span></div>';
    }).join('');
    $('keys').innerHTML = Object.entries(s.keys || {}).map(([k, v]) => '<div class="row"><span>' + esc(k)
      + '</span><div class="bar' + (v < 0.05 ? ' over' : '') + '" style="width:' + Math.max(1, 100 * v) + '%"></div><span>' + (v < 0.05 ? 'cooling / empty' : Math.round(100 * v) + '% free') + '</span></div>').join('')
      || '<p class="muted">no API keys (sim only)</p>';
    $('providers').querySelector('tbody').innerHTML = Object.entries(s.providers || {}).map(([id, p]) =>
      '<tr data-provider="' + esc(id) + '" data-circuit="' + esc(p.circuit) + '"><td>' + esc(id) + '</td><td class="'
      + (p.circuit === 'closed' ? '' : 'bad') + '">' + esc(p.circuit.replace('_', '-')) + '</td><td>' + p.in_flight
      + '</td><td>' + p.waiting + '</td><td>' + Object.entries(p.keys || {}).map(([k, st]) => '<span class="key '
      + esc(st) + '" data-key="' + esc(id + '/' + k) + '" data-state="' + esc(st) + '">' + esc(k) + ': ' + esc(st)
      + '</span>').join(' ') + '</td></tr>').join('')
      || '<tr><td colspan="5" class="muted">no remote providers (sim only)</td></tr>';
    $('refused').innerHTML = Object.entries(s.refused || {}).map(([k, v]) => '<div>' + esc(k) + ': ' + Math.round(v) + '</div>').join('');
    const events = $('events');
    s.nodes.filter((n) => n.state === 'down').forEach((n) => {
      if (!events.querySelector('[data-left="' + CSS.escape(n.name) + '"]')) {
        events.insertAdjacentHTML('afterbegin', '<li data-left="' + esc(n.name) + '">' + new Date().toLocaleTimeString()
          + ': node ' + esc(n.name) + ' left</li>');
      }
    });
    (sp.budgets || []).forEach((b) => (b.alerts_raised || []).forEach((t) => {
      const id = b.scope + '@' + t;
      if (!events.querySelector('[data-alert="' + CSS.escape(id) + '"]')) {
        events.insertAdjacentHTML('afterbegin', '<li data-alert="' + esc(id) + '">budget ' + esc(b.scope) + ' reached '
          + Math.round(100 * t) + '%</li>');
      }
    }));
  }

  window.agenthubDashboard = { last: () => last };
  connect();
}());
