// agenthub live dashboard: the cluster's picture once a second over server-sent events (read with
// fetch, so the admin token travels in the Authorization header and never in a URL), charts drawn
// with uPlot (vendor/, served from the jar).
(function () {
  'use strict';
  const WINDOW = 900; // points kept: 15 minutes at one a second
  const points = [];
  const charts = {};
  let last = null;
  let keyNames = [];

  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
  const usd = (v) => { const n = Number(v || 0); return '$' + (n === 0 || n >= 1 ? n.toFixed(2) : n.toPrecision(3)); };
  const COLORS = ['#3d7bd9', '#c8423b', '#2e9e5b', '#b7791f', '#7b4fc9', '#1f9bb7', '#d9479b', '#6b7280'];

  // ---- the event stream ----

  async function connect() {
    const token = sessionStorage.getItem('agenthub-token');
    try {
      const r = await fetch('/ui/events', {headers: token ? {Authorization: 'Bearer ' + token} : {}, cache: 'no-store'});
      if (r.status === 401 || r.status === 403) {
        $('status').textContent = r.status === 401 ? 'an admin token is needed' : 'this token is not an admin token';
        $('login').hidden = false;
        return;
      }
      if (!r.ok) { throw new Error('HTTP ' + r.status); }
      $('login').hidden = true;
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const {value, done} = await reader.read();
        if (done) { break; }
        buffer += decoder.decode(value, {stream: true});
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (e) {
      // the node went away or the network did: try again below
    }
    $('status').textContent = 'disconnected: retrying';
    setTimeout(connect, 2000);
  }

  function handle(chunk) {
    let event = 'message';
    let data = '';
    chunk.split('\n').forEach((line) => {
      if (line.startsWith('event: ')) { event = line.slice(7); }
      if (line.startsWith('data: ')) { data += line.slice(6); }
    });
    if (!data) { return; }
    const body = JSON.parse(data);
    if (event === 'history') {
      points.length = 0;
      body.forEach((p) => points.push(p));
      draw();
    } else {
      $('status').textContent = 'live';
      if (body.point && (!points.length || points[points.length - 1].t < body.point.t)) {
        points.push(body.point);
        if (points.length > WINDOW) { points.shift(); }
      }
      render(body);
      draw();
    }
  }

  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem('agenthub-token', $('token').value);
    $('token').value = '';
    $('login').hidden = true;
    connect();
  });

  // ---- charts ----

  function chart(id, title, series, unit, format) {
    const el = $(id);
    const opts = {
      title: title,
      width: Math.max(320, el.clientWidth || 880),
      height: 180,
      cursor: {drag: {x: false, y: false}},
      scales: {x: {time: true}, y: {range: (u, min, max) => [0, Math.max(max * 1.1, unit === '%' ? 100 : 1e-9)]}},
      axes: [
        {stroke: '#555', grid: {stroke: '#eee'}},
        {stroke: '#555', grid: {stroke: '#eee'}, size: unit === '$' ? 90 : 60, label: unit === '$' ? 'USD' : unit,
          labelSize: 24, values: (u, ticks) => ticks.map(format)},
      ],
      series: [{label: 'time'}].concat(series.map((s, i) => ({
        label: s, stroke: COLORS[i % COLORS.length], width: 1.5, points: {show: false},
        value: (u, v) => v == null ? '–' : format(v) + (unit === '$' ? '' : ' ' + unit),
      }))),
    };
    el.innerHTML = '';
    return new uPlot(opts, [[]].concat(series.map(() => [])), el);
  }

  const fixed = (digits) => (v) => Number(v).toFixed(digits);

  function draw() {
    const names = Object.keys((points[points.length - 1] || {}).keys || {}).sort();
    if (!charts.rate) {
      charts.rate = chart('rate-chart', 'Traffic', ['messages/s'], 'msg/s', fixed(1));
      charts.latency = chart('latency-chart', 'Turn latency (worst node)', ['p50', 'p99'], 'ms', fixed(0));
      charts.spend = chart('spend-chart', 'Spend this month', ['month to date'], '$', (v) => usd(v));
    }
    if (!charts.keys || names.join() !== keyNames.join()) {
      keyNames = names;
      charts.keys = names.length ? chart('keys-chart', 'Key headroom (share of the request bucket free)', names, '%',
        fixed(0)) : null;
      if (!names.length) { $('keys-chart').innerHTML = '<p class="muted">no API keys (sim only)</p>'; }
    }
    const t = points.map((p) => p.t);
    charts.rate.setData([t, points.map((p) => p.rate)]);
    charts.latency.setData([t, points.map((p) => p.p50), points.map((p) => p.p99)]);
    charts.spend.setData([t, points.map((p) => p.spend)]);
    if (charts.keys) {
      charts.keys.setData([t].concat(keyNames.map((k) => points.map((p) => p.keys && p.keys[k] != null
        ? 100 * p.keys[k] : null))));
    }
  }

  window.addEventListener('resize', () => Object.values(charts).forEach((c) => c && c.setSize({
    width: Math.max(320, c.root.parentElement.clientWidth || 880), height: 180})));

  // ---- tables and bars ----

  function render(s) {
    last = s;
    $('nodes').innerHTML = s.nodes.map((n) => '<div class="node" data-node="' + esc(n.name) + '" data-state="' + esc(n.state) + '">'
      + '<b>' + esc(n.name) + '</b>' + (n.state === 'up'
        ? esc((n.roles || []).join(', ')) + '<br><span class="muted">' + esc(n.address || '') + '</span><br>up since '
          + esc(n.since || '') + '<br>' + Number(n.rate || 0).toFixed(1) + ' msg/s, p99 ' + Math.round(n.turn_p99_ms || 0) + ' ms'
        : '<span class="muted">down</span>') + '</div>').join('');
    // the memory writer and, replicated, every copy: its last applied batch and whether it is in sync
    const mem = s.memory || {};
    const writerApplied = ((mem.replicas || []).find((r) => r.state === 'writer') || {}).applied || 0;
    // writes "held": no writer, or it cannot reach enough in-sync copies (every write waits)
    const writes = mem.writes === 'ok' ? '<span data-writes="ok">writes ok</span>'
      : '<span class="bad" data-writes="held">writes held</span>';
    $('memory').innerHTML = !mem.writer ? '<span class="bad">no memory writer</span>, ' + writes
      : 'writer <b>' + esc(mem.writer) + '</b>, epoch ' + esc(mem.epoch) + ', ' + writes + (mem.replicas
        ? ', ' + esc(mem.replicas_wanted) + ' copies wanted' + mem.replicas.map((r) => '<div class="row replica" data-replica="'
          + esc(r.node) + '" data-state="' + esc(r.state) + '"><span>' + esc(r.node) + ' <b class="' + (['writer', 'following',
          'standby'].includes(r.state) ? '' : 'bad') + '">' + esc(r.state) + '</b></span><div class="track"><div class="bar" style="width:'
          + (writerApplied > 0 ? Math.min(100, 100 * r.applied / writerApplied) : 100) + '%"></div></div><span>batch '
          + esc(r.applied) + '</span></div>').join('') : ' (one directory)');
    $('rate').textContent = Number(s.messages_per_s || 0).toFixed(1) + ' messages/s, ' + Math.round(s.messages_total || 0) + ' in all';
    $('agents').querySelector('tbody').innerHTML = s.agents.map((a) => '<tr data-agent="' + esc(a.id) + '"><td>' + esc(a.id)
      + '</td><td>' + esc(a.trust) + '</td><td>' + a.instances + '</td><td>'
      + a.running.map((r) => esc(r.instance)).join(', ') + '</td><td>' + Math.round(a.queue || 0) + '</td></tr>').join('');
    const sp = s.spend || {};
    $('month').textContent = sp.month ? sp.month + ': ' + usd(sp.month_to_date_usd) + ' so far, ' + usd(sp.projected_usd) + ' projected' : '';
    const top = Math.max(1e-9, ...Object.values(sp.by_agent || {}), ...Object.values(sp.by_model || {}),
      ...Object.values(sp.by_client || {}));
    const bars = (obj) => Object.entries(obj).map(([k, v]) => '<div class="row"><span>' + esc(k) + '</span><div class="track">'
      + '<div class="bar" style="width:' + Math.max(1, 100 * v / top) + '%"></div></div><span>' + usd(v) + '</span></div>').join('')
      || '<p class="muted">nothing spent yet</p>';
    $('spend').innerHTML = '<h3>by agent</h3>' + bars(sp.by_agent || {}) + '<h3>by model</h3>' + bars(sp.by_model || {})
      + (Object.keys(sp.by_client || {}).length ? '<h3>by client</h3>' + bars(sp.by_client) : '');
    // each budget: spent (solid) and held for calls in flight (hatched) against its limit
    $('budgets').innerHTML = (sp.budgets || []).map((b) => {
      const used = b.limit_usd > 0 ? 100 * b.used_usd / b.limit_usd : 0;
      const held = b.limit_usd > 0 ? 100 * (b.held_usd || 0) / b.limit_usd : 0;
      return '<div class="row budget" data-budget="' + esc(b.scope) + '" data-state="' + esc(b.state) + '"><span>' + esc(b.scope)
        + ' <span class="muted">' + esc(b.period || '') + '</span> <b class="' + (b.state === 'ok' ? '' : 'bad') + '">'
        + esc(b.state) + '</b></span><div class="track"><div class="bar' + (b.state === 'ok' ? '' : ' over')
        + '" style="width:' + Math.min(100, used) + '%"></div><div class="bar held" style="width:' + Math.min(100 - Math.min(100, used), held)
        + '%"></div></div><span title="spent / held for calls in flight / limit">' + usd(b.used_usd) + ' + ' + usd(b.held_usd)
        + ' held / ' + usd(b.limit_usd) + '</span></div>';
    }).join('') || '<p class="muted">no budgets configured</p>';
    $('providers').querySelector('tbody').innerHTML = Object.entries(s.providers || {}).map(([id, p]) =>
      '<tr data-provider="' + esc(id) + '" data-circuit="' + esc(p.circuit) + '"><td>' + esc(id) + '</td><td class="'
      + (p.circuit === 'closed' ? '' : 'bad') + '">' + esc(p.circuit.replace('_', '-')) + '</td><td>' + p.in_flight
      + '</td><td>' + p.waiting + '</td><td>' + Object.entries(p.keys || {}).map(([k, st]) => '<span class="key '
      + esc(st) + '" data-key="' + esc(id + '/' + k) + '" data-state="' + esc(st) + '">' + esc(k) + ': ' + esc(st)
      + '</span>').join(' ') + '</td></tr>').join('')
      || '<tr><td colspan="5" class="muted">no remote providers (sim only)</td></tr>';
    const n = (c, k) => Math.round((c.counts || {})[k] || 0);
    $('channels').querySelector('tbody').innerHTML = (s.channels || []).map((c) => '<tr data-channel="' + esc(c.id)
      + '"><td>' + esc(c.id) + ' <span class="muted">' + esc(c.type) + ', ' + esc(c.mode) + '</span></td><td>' + esc(c.agent)
      + '</td><td title="accepted / duplicates / ignored / refused">' + n(c, 'in_accepted') + ' <span class="muted">+'
      + n(c, 'in_duplicate') + ' dup, ' + n(c, 'in_ignored') + ' ignored, ' + n(c, 'in_refused') + ' refused</span></td><td>'
      + n(c, 'out_sent') + '</td><td class="' + (n(c, 'out_failed') + n(c, 'out_dropped') > 0 ? 'bad' : '') + '">'
      + (n(c, 'out_failed') + n(c, 'out_dropped')) + '</td></tr>').join('')
      || '<tr><td colspan="5" class="muted">no channels configured</td></tr>';
    $('refused').innerHTML = Object.entries(s.refused || {}).map(([k, v]) => '<div>' + esc(k) + ': ' + Math.round(v) + '</div>').join('')
      || '<p class="muted">nothing refused</p>';
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

  window.agenthubDashboard = { last: () => last, points: () => points.length };
  connect();
}());
