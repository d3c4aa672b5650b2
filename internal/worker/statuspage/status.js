// hookstream status page: renders /status.json every second. Counters in
// the snapshot are totals since start; rates, batch sizes and percentiles
// are computed here from the oldest snapshot kept (up to WINDOW ago), so
// the worker keeps no history for the page.
'use strict';
(() => {
  const WINDOW = 30000, EVERY = 1000;
  const samples = [];
  let failed = 0;
  const $ = (id) => document.getElementById(id);

  function push(s) {
    const t = Date.parse(s.now);
    samples.push({ t, s });
    while (samples.length > 2 && t - samples[1].t >= WINDOW) samples.shift();
  }

  const num = (n) => Math.round(n).toLocaleString('en-US');
  const mib = (b) => (b / 1048576).toFixed(b < 10 * 1048576 ? 1 : 0);
  function rate(x) {
    if (x === null || !isFinite(x)) return '–';
    return x < 10 ? x.toFixed(1) : num(x);
  }
  function dur(s) {
    if (s === null || !isFinite(s)) return '–';
    if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 1 : 0) + ' ms';
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' m ' + Math.floor(s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' m';
  }

  // hist returns the histogram's change since the base snapshot, or its
  // totals when there is no base (the page just opened).
  function hist(cur, old) {
    if (!old || old.count > cur.count || old.counts.length !== cur.counts.length) return cur;
    return {
      bounds: cur.bounds, count: cur.count - old.count, sum: cur.sum - old.sum,
      counts: cur.counts.map((c, i) => c - old.counts[i]),
    };
  }

  // quantile interpolates within the bucket holding rank q, as Prometheus'
  // histogram_quantile does. Beyond the last bound it answers "> bound".
  function quantile(q, h, fmt) {
    if (!h || h.count === 0) return '–';
    const rank = q * h.count;
    for (let i = 0; i < h.bounds.length; i++) {
      if (h.counts[i] >= rank) {
        const lo = i ? h.bounds[i - 1] : 0, below = i ? h.counts[i - 1] : 0;
        const inside = h.counts[i] - below;
        return fmt(inside ? lo + (h.bounds[i] - lo) * ((rank - below) / inside) : h.bounds[i]);
      }
    }
    return '> ' + fmt(h.bounds[h.bounds.length - 1]);
  }

  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function rows(tbody, list, empty, cols, fill) {
    const out = list.map(fill);
    if (!out.length) {
      const tr = document.createElement('tr');
      cell(tr, empty, 'empty').colSpan = cols;
      out.push(tr);
    }
    tbody.replaceChildren(...out);
  }

  const BREAKER = [['closed', 'ok'], ['half-open', 'warn'], ['open', 'bad']];

  function render() {
    const cur = samples[samples.length - 1], s = cur.s;
    const base = samples.length > 1 ? samples[0] : null;
    const dt = base ? (cur.t - base.t) / 1000 : 0;
    const old = {};
    if (base) for (const a of base.s.actions) old[a.id] = a;
    const per = (x, y) => (base && dt > 0 ? (x - y) / dt : null);

    const ready = $('ready');
    ready.textContent = failed ? 'unreachable' : s.ready ? 'ready' : 'not ready: ' + s.not_ready;
    ready.className = 'badge ' + (failed ? 'mute' : s.ready ? 'ok' : 'warn');
    $('meta').textContent = 'group ' + s.group + ' · topics ' + s.topics.join(', ') + ' · brokers ' +
      s.brokers.join(', ') + ' · rules from ' + s.rules + ' · version ' + s.version + ' · up ' +
      dur((Date.parse(s.now) - Date.parse(s.started)) / 1000);
    $('window').textContent = base ? Math.round(dt) + ' s' : 'run so far';

    let delivered = null, dead = 0, open = 0, half = 0;
    for (const a of s.actions) {
      const o = old[a.id];
      if (base && o) delivered = (delivered || 0) + (a.delivered - o.delivered) / dt;
      dead += a.dead_lettered;
      if (a.circuit === 2) open++;
      if (a.circuit === 1) half++;
    }
    $('t-lag').textContent = num(s.lag);
    const h = s.in_hand;
    $('t-inhand').textContent = mib(h.bytes) + ' MiB';
    $('t-inhand-s').textContent = 'of ' + mib(h.max_bytes) + ' MiB (max_buffered_bytes); ' +
      num(h.events) + ' of ' + num(h.max_events) + ' events';
    $('t-consumed').textContent = rate(per(s.consumed, base ? base.s.consumed : 0));
    $('t-delivered').textContent = rate(delivered);
    $('t-dead').textContent = num(dead);
    $('t-open').textContent = num(open);
    $('t-open').className = 'v ' + (open ? 'bad' : half ? 'warn' : '');
    $('t-open-s').textContent = 'open' + (half ? ', ' + half + ' half-open' : '') + ' of ' + s.actions.length;

    rows($('actions').tBodies[0], s.actions, 'no actions', 10, (a) => {
      const o = old[a.id];
      const tr = document.createElement('tr');
      tr.dataset.action = a.id;
      tr.dataset.delivered = a.delivered;
      if (!a.enabled) tr.className = 'disabled';
      cell(tr, a.id + (a.enabled ? '' : ' (disabled)'), 'id');
      cell(tr, a.method + ' ' + a.url, 'url').title = a.batch + (a.signed ? ', signed' : ', unsigned');
      cell(tr, rate(o ? per(a.delivered, o.delivered) : null), 'n');
      cell(tr, num(a.delivered), 'n');
      const bs = hist(a.batch_size, o && o.batch_size);
      cell(tr, bs.count ? (bs.sum / bs.count).toFixed(1) : '–', 'n');
      cell(tr, quantile(0.99, hist(a.request_seconds, o && o.request_seconds), dur), 'n');
      cell(tr, quantile(0.99, hist(a.latency_seconds, o && o.latency_seconds), dur), 'n');
      const [name, cls] = BREAKER[a.circuit] || ['?', 'mute'];
      const b = document.createElement('span');
      b.className = 'badge ' + cls;
      b.textContent = name;
      cell(tr, '').appendChild(b);
      tr.dataset.breaker = name;
      cell(tr, num(a.dead_lettered), 'n' + (a.dead_lettered ? ' bad' : ''));
      // Counted per second of record time: whole seconds are all it knows.
      const age = a.oldest_undelivered_seconds;
      cell(tr, age === 0 ? '–' : age < 1 ? '< 1 s' : dur(Math.floor(age)), 'n');
      return tr;
    });

    rows($('dead').tBodies[0], s.dead_letters || [], 'no dead letters since the worker started', 5, (d) => {
      const tr = document.createElement('tr');
      tr.dataset.action = d.action;
      tr.dataset.reason = d.reason;
      tr.dataset.status = d.status || '';
      cell(tr, new Date(d.time).toLocaleTimeString('en-GB')).title = d.time;
      cell(tr, d.action || '– (matched no action)', 'id');
      cell(tr, d.reason, 'bad');
      cell(tr, d.status ? String(d.status) : '–', 'n');
      cell(tr, d.error, 'err').title = d.error;
      return tr;
    });

    const most = Math.max(1, ...s.partitions.map((p) => p.lag || 0));
    rows($('partitions').tBodies[0], s.partitions, 'no partitions assigned', 8, (p) => {
      const tr = document.createElement('tr');
      tr.dataset.partition = p.topic + '/' + p.partition;
      tr.dataset.lag = p.lag === null ? '' : p.lag;
      cell(tr, p.topic);
      cell(tr, p.partition, 'n');
      cell(tr, p.end_offset < 0 ? '–' : num(p.end_offset), 'n');
      cell(tr, p.committed < 0 ? '–' : num(p.committed), 'n');
      cell(tr, p.lag === null ? '–' : num(p.lag), 'n lag');
      const track = document.createElement('div'), fill = document.createElement('div');
      track.className = 'track';
      fill.className = 'fill';
      fill.style.width = ((100 * (p.lag || 0)) / most).toFixed(1) + '%';
      track.appendChild(fill);
      cell(tr, '', 'bar').appendChild(track);
      cell(tr, num(p.pending), 'n');
      cell(tr, p.oldest_pending_seconds === null ? '–' : dur(p.oldest_pending_seconds), 'n');
      return tr;
    });

    $('updated').textContent = new Date(cur.t).toLocaleTimeString('en-GB');
    $('conn').textContent = failed ? '· connection lost, retrying' : '';
    $('conn').className = failed ? 'bad' : '';
    document.body.dataset.samples = samples.length;
  }

  async function poll() {
    if (!document.hidden) {
      try {
        const resp = await fetch('/status.json', { cache: 'no-store' });
        if (!resp.ok) throw new Error(resp.status);
        push(await resp.json());
        failed = 0;
      } catch (e) {
        failed++;
      }
      render();
    }
    setTimeout(poll, EVERY);
  }

  push(JSON.parse($('initial').textContent));
  render();
  setTimeout(poll, EVERY);
})();
