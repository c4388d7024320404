/* report_html.js - draws the charts of the HTML report (inlined by the
 * build).  It reads the JSON block #gc-data that report_html.c writes,
 * draws on canvases (no library, no network), turns the Markdown of the
 * explanation pages into HTML, and on success writes the marker
 * <div id="gc-rendered">; an exception goes to #gc-script-error instead
 * (window.onerror, installed in the page's head). */
(function () {
  'use strict';

  var COLOURS = ['#1f6fb4', '#d1495b', '#2a9d4b', '#8e5ac8', '#e07b00',
                 '#0f9bae', '#8c564b', '#c94fa0', '#5d6d7e', '#b5a400'];
  var PAD = { left: 62, right: 26, top: 22, bottom: 40 };
  var EXP_LOW = -708.40;     /* below it exp(x) is no longer normal */
  var drawn = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function finite(v) { return typeof v === 'number' && isFinite(v); }

  function fmt(v) {
    if (!finite(v)) return 'n/a';
    var a = Math.abs(v);
    if (a === 0) return '0';
    if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
    return String(Number(v.toPrecision(3)));
  }

  /* About n round ticks covering [lo, hi]. */
  function linearTicks(lo, hi, n) {
    var span = hi - lo, step, ticks = [], t;
    if (!(span > 0)) return [lo];
    /* the smallest of 1, 2, 5 times a power of ten giving at most n */
    var base = Math.pow(10, Math.floor(Math.log10(span / n)));
    step = [1, 2, 5, 10].map(function (k) { return k * base; })
      .filter(function (c) { return span / c <= n; })[0] || 10 * base;
    for (t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
      ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return ticks;
  }

  /* Decades between 10^lo and 10^hi (lo, hi are exponents). */
  function logTicks(lo, hi) {
    var ticks = [], k, every = Math.max(1, Math.ceil((hi - lo) / 8));
    for (k = Math.ceil(lo); k <= Math.floor(hi); k += every) ticks.push(k);
    return ticks;
  }

  function range(values) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) {
      if (finite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    });
    if (lo > hi) return null;
    if (lo === hi) { lo -= Math.abs(lo) * 0.1 + 0.5; hi += Math.abs(hi) * 0.1 + 0.5; }
    return [lo, hi];
  }

  function canvas(parent, width, height) {
    var c = el('canvas'), ratio = window.devicePixelRatio || 1;
    c.width = Math.round(width * ratio);
    c.height = Math.round(height * ratio);
    c.style.width = width + 'px';
    c.style.height = height + 'px';
    parent.appendChild(c);
    var ctx = c.getContext('2d');
    ctx.scale(ratio, ratio);
    ctx.font = '11px system-ui, sans-serif';
    return { canvas: c, ctx: ctx, w: width, h: height };
  }

  /* Axes for a chart: x over steps, y linear or log10; returns mappers. */
  function frame(cv, o) {
    var ctx = cv.ctx, L = PAD.left, R = cv.w - PAD.right, T = PAD.top;
    var B = cv.h - PAD.bottom;
    var f = {
      L: L, R: R, T: T, B: B,
      X: function (x) {
        var v = o.xlog ? Math.log10(Math.max(x, 1e-300)) : x;
        return L + (v - o.x0) / (o.x1 - o.x0 || 1) * (R - L);
      },
      Y: function (y) {
        var v = o.ylog ? Math.log10(Math.max(y, 1e-300)) : y;
        return B - (v - o.y0) / (o.y1 - o.y0 || 1) * (B - T);
      }
    };
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, cv.w, cv.h);
    ctx.strokeStyle = '#e3e7ec';
    ctx.fillStyle = '#39424c';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    var yt = o.ylog ? logTicks(o.y0, o.y1) : linearTicks(o.y0, o.y1, 5);
    yt.forEach(function (t) {
      var y = B - (t - o.y0) / (o.y1 - o.y0 || 1) * (B - T);
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(R, y); ctx.stroke();
      ctx.fillText(o.ylog ? '1e' + t : fmt(t), L - 5, y);
    });
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    var xt = o.xlog ? logTicks(o.x0, o.x1)
                    : linearTicks(o.x0, o.x1, Math.max(3, Math.round((R - L) / 90)));
    xt.forEach(function (t) {
      var x = o.xlog ? f.X(Math.pow(10, t)) : f.X(t);
      ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, B); ctx.stroke();
      ctx.fillText(o.xlog ? '1e' + t : fmt(t), x, B + 4);
    });
    ctx.strokeStyle = '#8a96a3';
    ctx.strokeRect(L, T, R - L, B - T);
    ctx.fillText(o.xlabel || 'training step', (L + R) / 2, B + 20);
    ctx.save();
    ctx.translate(12, (T + B) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(o.ylabel, 0, -6);
    ctx.restore();
    if (o.title) {
      ctx.textAlign = 'left';
      ctx.font = '600 12px system-ui, sans-serif';
      ctx.fillText(o.title, L, 4);
      ctx.font = '11px system-ui, sans-serif';
    }
    return f;
  }

  /* A polyline through finite points; gaps where a value is missing. */
  function line(ctx, f, xs, ys, colour, width, dash) {
    var open = false;
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.setLineDash(dash || []);
    ctx.beginPath();
    for (var i = 0; i < xs.length; i++) {
      if (!finite(ys[i])) { open = false; continue; }
      if (open) ctx.lineTo(f.X(xs[i]), f.Y(ys[i]));
      else ctx.moveTo(f.X(xs[i]), f.Y(ys[i]));
      open = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
  }

  /* The trap step (dashed red) and the finding steps (ticks on top). */
  function marks(ctx, f, x0, x1, quiet) {
    (data.findings || []).forEach(function (m) {
      if (m.step < x0 || m.step > x1) return;
      ctx.fillStyle = m.severity === 'error' ? '#b3261e'
                    : m.severity === 'warning' ? '#e0a400' : '#8a96a3';
      var x = f.X(m.step);
      ctx.beginPath();
      ctx.moveTo(x - 4, f.T - 8); ctx.lineTo(x + 4, f.T - 8);
      ctx.lineTo(x, f.T - 1); ctx.fill();
    });
    if (data.trap && data.trap.step >= x0 && data.trap.step <= x1) {
      var x = f.X(data.trap.step);
      ctx.strokeStyle = '#b3261e';
      ctx.lineWidth = 1.5;
      ctx.setLineDash([5, 3]);
      ctx.beginPath(); ctx.moveTo(x, f.T); ctx.lineTo(x, f.B); ctx.stroke();
      ctx.setLineDash([]);
      if (quiet) return;
      ctx.fillStyle = '#b3261e';
      ctx.textAlign = 'right';
      ctx.textBaseline = 'top';
      ctx.fillText('trap, step ' + data.trap.step, x - 4, f.T + 4);
    }
  }

  function legend(parent, items) {
    var box = el('div', 'legend');
    items.forEach(function (it) {
      var s = el('span'), i = el('i');
      i.style.background = it.colour;
      if (it.thin) { i.style.height = '2px'; }
      s.appendChild(i);
      s.appendChild(document.createTextNode(it.label));
      box.appendChild(s);
    });
    parent.appendChild(box);
  }

  function holder(id) {
    var h = document.getElementById(id);
    h.textContent = '';
    return h;
  }

  function width(h) { return Math.max(480, Math.min(1180, h.clientWidth || 960)); }

  function xExtent() {
    return [0, Math.max(1, data.lastStep, data.steps || 0)];
  }

  function lossChart() {
    var h = holder('chart-loss'), t = data.train, cv, f, r, ylog;
    if (!t || t.step.length === 0) {
      h.textContent = 'No training window closed: no loss curve.';
      return;
    }
    r = range(t.loss);
    if (!r) { h.textContent = 'The loss was never finite.'; return; }
    ylog = r[0] > 0 && r[1] / r[0] > 30;
    var x = xExtent();
    cv = canvas(h, width(h), 240);
    f = frame(cv, {
      x0: x[0], x1: x[1], ylog: ylog,
      y0: ylog ? Math.log10(r[0]) - 0.1 : Math.min(0, r[0]),
      y1: ylog ? Math.log10(r[1]) + 0.1 : r[1] * 1.05,
      ylabel: ylog ? 'loss (log scale)' : 'loss',
      title: 'training loss, mean over each window'
    });
    line(cv.ctx, f, t.step, t.loss, COLOURS[0], 1.8);
    marks(cv.ctx, f, x[0], x[1]);
    var items = [{ label: 'training loss (window mean)', colour: COLOURS[0] }];
    if (finite(data.testAccuracy))
      items.push({ label: 'test accuracy at the end: ' +
                   (100 * data.testAccuracy).toFixed(2) + '%',
                   colour: '#fff' });
    if (data.trap) items.push({ label: 'trap', colour: '#b3261e', thin: true });
    legend(h, items);
    drawn++;
  }

  function logitChart() {
    var h = holder('chart-logit'), t = data.train, cv, f;
    if (!t || t.step.length === 0) { h.textContent = ''; return; }
    var r = range(t.minLogit.concat(t.maxLogit, t.meanLogit));
    if (!r) { h.textContent = 'The logits were never finite.'; return; }
    var pad = (r[1] - r[0]) * 0.05, x = xExtent();
    cv = canvas(h, width(h), 240);
    f = frame(cv, {
      x0: x[0], x1: x[1], y0: r[0] - pad, y1: r[1] + pad,
      ylabel: 'output pre-activation',
      title: 'output pre-activations (logits): window mean, min and max'
    });
    var ctx = cv.ctx, i, open = false;
    ctx.fillStyle = 'rgba(31,111,180,0.15)';
    ctx.beginPath();
    for (i = 0; i < t.step.length; i++) {
      if (!finite(t.maxLogit[i])) continue;
      if (open) ctx.lineTo(f.X(t.step[i]), f.Y(t.maxLogit[i]));
      else ctx.moveTo(f.X(t.step[i]), f.Y(t.maxLogit[i]));
      open = true;
    }
    for (i = t.step.length - 1; i >= 0; i--)
      if (finite(t.minLogit[i])) ctx.lineTo(f.X(t.step[i]), f.Y(t.minLogit[i]));
    ctx.fill();
    line(ctx, f, t.step, t.meanLogit, COLOURS[0], 1.8);
    var items = [{ label: 'mean logit', colour: COLOURS[0] },
                 { label: 'min to max', colour: 'rgba(31,111,180,0.25)' }];
    if (r[0] - pad < EXP_LOW) {
      ctx.strokeStyle = '#b3261e';
      ctx.setLineDash([2, 3]);
      ctx.beginPath(); ctx.moveTo(f.L, f.Y(EXP_LOW));
      ctx.lineTo(f.R, f.Y(EXP_LOW)); ctx.stroke();
      ctx.setLineDash([]);
      items.push({ label: 'exp underflow edge (-708.4)', colour: '#b3261e',
                   thin: true });
    }
    marks(ctx, f, x[0], x[1]);
    legend(h, items);
    drawn++;
  }

  function checkChart() {
    var h = holder('chart-checks'), cv, f, lo = Infinity, hi = -Infinity;
    var checks = data.checks || [];
    if (checks.length === 0) { h.textContent = 'No checks were recorded.'; return; }
    checks.forEach(function (c) {
      c.element.rel.concat(c.direction.rel).forEach(function (v) {
        if (finite(v) && v > 0) {
          lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v));
        }
      });
    });
    var pb = Math.log10(data.passBelow || 1e-6), fa = Math.log10(data.failAbove || 1e-4);
    lo = Math.floor(Math.min(lo, pb - 1)); hi = Math.ceil(Math.max(hi, fa + 1, 0));
    var x = xExtent();
    cv = canvas(h, width(h), 300);
    f = frame(cv, {
      x0: x[0], x1: x[1], ylog: true, y0: lo, y1: hi,
      ylabel: 'relative error |g-n|/(|g|+|n|)',
      title: 'relative error of each tensor: lines direction checks, dots element checks'
    });
    var ctx = cv.ctx;
    function band(a, b, colour) {
      var ya = f.Y(Math.pow(10, Math.min(Math.max(a, lo), hi)));
      var yb = f.Y(Math.pow(10, Math.min(Math.max(b, lo), hi)));
      ctx.fillStyle = colour;
      ctx.fillRect(f.L + 1, yb, f.R - f.L - 2, ya - yb);
    }
    band(lo, pb, 'rgba(42,157,75,0.10)');
    band(pb, fa, 'rgba(224,164,0,0.12)');
    band(fa, hi, 'rgba(179,38,30,0.08)');
    var items = [];
    checks.forEach(function (c, k) {
      var colour = COLOURS[k % COLOURS.length];
      var rel = function (v) { return finite(v) ? Math.max(v, Math.pow(10, lo)) : v; };
      line(ctx, f, c.direction.step, c.direction.rel.map(rel), colour, 1.2);
      ctx.fillStyle = colour;
      c.element.step.forEach(function (s, i) {
        var v = rel(c.element.rel[i]);
        if (!finite(v)) return;
        ctx.beginPath();
        ctx.arc(f.X(s), f.Y(v), 3, 0, 2 * Math.PI);
        ctx.fill();
      });
      items.push({ label: c.tensor, colour: colour });
    });
    marks(ctx, f, x[0], x[1]);
    items.push({ label: 'pass (rel <= ' + fmt(data.passBelow) + ')',
                 colour: 'rgba(42,157,75,0.35)' });
    items.push({ label: 'inconclusive', colour: 'rgba(224,164,0,0.4)' });
    items.push({ label: 'fail (rel > ' + fmt(data.failAbove) + ')',
                 colour: 'rgba(179,38,30,0.3)' });
    legend(h, items);
    drawn++;
  }

  /* The step sweep (gradcheck sweep --html): relative error against h
   * on log-log axes, the rounding bound on the same relative scale, the
   * check's bands, the chosen step and the two arms of the V named. */
  function sweepChart() {
    var h = holder('chart-sweep'), n = data.h.length, i;
    var g = Math.abs(data.analytic);
    var bound = data.rounding.map(function (r, k) {
      var d = Math.abs(data.numeric[k]) + g;
      return finite(r) && d > 0 ? r / d : null;
    });
    var lo = Infinity, hi = -Infinity;
    data.rel.concat(bound).forEach(function (v) {
      if (finite(v) && v > 0) {
        lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v));
      }
    });
    if (!(lo <= hi)) { h.textContent = 'No finite error to draw.'; return; }
    var pb = Math.log10(data.passBelow || 1e-6), fa = Math.log10(data.failAbove || 1e-4);
    lo = Math.floor(Math.min(lo, pb) - 0.5); hi = Math.ceil(Math.max(hi, fa, 0));
    var floorValue = Math.pow(10, lo);
    var clamp = function (v) { return finite(v) ? Math.max(v, floorValue) : v; };
    var rel = data.rel.map(clamp);
    var x0 = Math.log10(data.h[0]), x1 = Math.log10(data.h[n - 1]);
    var cv = canvas(h, width(h), 420);
    var f = frame(cv, {
      x0: x0 - 0.25, x1: x1 + 0.25, xlog: true, ylog: true, y0: lo, y1: hi,
      xlabel: 'finite-difference step h (log scale)',
      ylabel: 'relative error (log scale)',
      title: 'relative error of the central difference against the step h, ' +
             data.tensor + ' at step ' + data.step
    });
    var ctx = cv.ctx;
    function band(a, b, colour) {
      var ya = f.Y(Math.pow(10, Math.min(Math.max(a, lo), hi)));
      var yb = f.Y(Math.pow(10, Math.min(Math.max(b, lo), hi)));
      ctx.fillStyle = colour;
      ctx.fillRect(f.L + 1, yb, f.R - f.L - 2, ya - yb);
    }
    band(lo, pb, 'rgba(42,157,75,0.10)');
    band(pb, fa, 'rgba(224,164,0,0.12)');
    band(fa, hi, 'rgba(179,38,30,0.08)');
    line(ctx, f, data.h, bound.map(clamp), '#5d6d7e', 1.2, [5, 4]);
    line(ctx, f, data.h, rel, COLOURS[0], 1.8);
    for (i = 0; i < n; i++) {
      if (!finite(rel[i])) continue;
      ctx.beginPath();
      ctx.arc(f.X(data.h[i]), f.Y(rel[i]), 3, 0, 2 * Math.PI);
      ctx.fillStyle = COLOURS[0];
      if (data.kink[i] === '1') {
        ctx.strokeStyle = COLOURS[0]; ctx.lineWidth = 1.2; ctx.stroke();
      } else {
        ctx.fill();
      }
    }
    /* the arms: left of the smallest error rounding, right truncation */
    ctx.font = 'italic 12px system-ui, sans-serif';
    ctx.fillStyle = '#39424c';
    ctx.textBaseline = 'bottom';
    /* each label above its arm, a quarter of the way in from the end */
    var left = Math.floor(data.best / 4);
    var right = n - 1 - Math.floor((n - 1 - data.best) / 4);
    if (data.best > 1 && finite(rel[left])) {
      ctx.textAlign = 'left';
      ctx.fillText('\u2190 rounding arm: error ~ eps |L| / h, falls as 1/h',
                   f.X(data.h[left]) + 4, f.Y(rel[left]) - 10);
    }
    if (n - 1 - data.best > 1 && finite(rel[right])) {
      ctx.textAlign = 'right';
      ctx.fillText('truncation arm: error ~ h\u00b2 |L\'\'\'| / 6, grows as h\u00b2 \u2192',
                   f.X(data.h[right]) - 10, f.Y(rel[right]) - 4);
    }
    /* the chosen step: a vertical line, a ring, its numbers */
    var c = data.chosen, xc = f.X(data.h[c]);
    ctx.strokeStyle = '#d1495b';
    ctx.lineWidth = 1.5;
    ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(xc, f.T); ctx.lineTo(xc, f.B); ctx.stroke();
    ctx.setLineDash([]);
    if (finite(rel[c])) {
      ctx.lineWidth = 2.5;
      ctx.beginPath(); ctx.arc(xc, f.Y(rel[c]), 7, 0, 2 * Math.PI); ctx.stroke();
    }
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.fillStyle = '#d1495b';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText('chosen h = ' + fmt(data.h[c]) + ', rel ' + fmt(data.rel[c]),
                 xc + 6, f.T + 6);
    ctx.font = '11px system-ui, sans-serif';
    legend(h, [
      { label: 'relative error |D(h) - g.u| / (|D| + |g.u|)', colour: COLOURS[0] },
      { label: 'rounding bound 64 eps max|L| / h, relative', colour: '#5d6d7e', thin: true },
      { label: 'the step gradcheck takes', colour: '#d1495b', thin: true },
      { label: 'pass (rel <= ' + fmt(data.passBelow) + ')', colour: 'rgba(42,157,75,0.35)' },
      { label: 'inconclusive', colour: 'rgba(224,164,0,0.4)' },
      { label: 'fail (rel > ' + fmt(data.failAbove) + ')', colour: 'rgba(179,38,30,0.3)' }
    ]);
    drawn++;
  }

  /* Light to dark blue for a share in [0, 1]. */
  function shade(share) {
    var s = Math.sqrt(Math.max(0, Math.min(1, share)));
    var r = Math.round(247 - s * (247 - 8)), g = Math.round(251 - s * (251 - 48));
    var b = Math.round(255 - s * (255 - 107));
    return 'rgb(' + r + ',' + g + ',' + b + ')';
  }

  /* Spreads a column's counts over `rows` equal value ranges of [lo, hi]
   * (each bin's count spread evenly over its width). */
  function rebin(col, lo, hi, rows) {
    var out = new Array(rows).fill(0), e = col.edges, span = (hi - lo) / rows;
    for (var b = 0; b < col.counts.length; b++) {
      var a = e[b], z = e[b + 1], n = col.counts[b];
      if (!n || !finite(a) || !finite(z)) continue;
      var r0 = Math.min(rows - 1, Math.max(0, Math.floor((a - lo) / span)));
      var r1 = Math.min(rows - 1, Math.max(r0, Math.floor((z - lo) / span)));
      if (z <= a) { out[r0] += n; continue; }
      for (var r = r0; r <= r1; r++) {
        var top = lo + (r + 1) * span, bottom = lo + r * span;
        var part = (Math.min(z, top) - Math.max(a, bottom)) / (z - a);
        if (part > 0) out[r] += n * part;
      }
    }
    return out;
  }

  function strip(parent, hist, layerName) {
    var box = el('div', 'strip'), cols = hist.columns, rows = 48;
    var r = range(cols.map(function (c) { return c.min; })
                  .concat(cols.map(function (c) { return c.max; })));
    parent.appendChild(box);
    if (!r) { box.textContent = hist.quantity + ': no finite values'; return; }
    var x = xExtent();
    var cv = canvas(box, 370, 170);
    var f = frame(cv, {
      x0: x[0], x1: x[1], y0: r[0], y1: r[1], ylabel: 'value',
      title: layerName + ' ' + hist.quantity
    });
    var ctx = cv.ctx, span = (r[1] - r[0]) / rows;
    cols.forEach(function (c, i) {
      var left = f.X(c.step);
      var right = i + 1 < cols.length ? f.X(cols[i + 1].step)
                                      : Math.max(left + 3, f.X(data.lastStep));
      right = Math.min(Math.max(right, left + 1), f.R);
      var counts = rebin(c, r[0], r[1], rows), top = Math.max.apply(null, counts);
      for (var k = 0; k < rows; k++) {
        if (!(counts[k] > 0)) continue;
        ctx.fillStyle = shade(counts[k] / top);
        var y1 = f.Y(r[0] + k * span), y0 = f.Y(r[0] + (k + 1) * span);
        ctx.fillRect(left, y0, right - left + 0.5, y1 - y0 + 0.5);
      }
      if (c.nonfinite > 0) {
        ctx.fillStyle = '#b3261e';
        ctx.fillRect(left, f.T, Math.max(2, right - left), 4);
      }
    });
    line(ctx, f, cols.map(function (c) { return c.step; }),
         cols.map(function (c) { return c.mean; }), '#e07b00', 1.5);
    marks(ctx, f, x[0], x[1], true);
    var readout = el('div', 'readout', cols.length + ' full checks' +
                     (hist.stride > 1 ? ' (one column per ' + hist.stride + ' shown)' : ''));
    box.appendChild(readout);
    cv.canvas.addEventListener('mousemove', function (ev) {
      var rect = cv.canvas.getBoundingClientRect(), px = ev.clientX - rect.left;
      var best = cols[0];
      cols.forEach(function (c) { if (f.X(c.step) <= px) best = c; });
      readout.textContent = 'step ' + best.step + ': mean ' + fmt(best.mean) +
        ', std ' + fmt(best.std) + ', min ' + fmt(best.min) + ', max ' +
        fmt(best.max) + (best.nonfinite ? ', ' + best.nonfinite + ' non-finite' : '');
    });
    drawn++;
  }

  function histograms() {
    var grid = holder('hist-grid'), layers = {};
    (data.histograms || []).forEach(function (hgram) {
      (layers[hgram.layer] = layers[hgram.layer] || []).push(hgram);
    });
    var keys = Object.keys(layers).map(Number).sort(function (a, b) { return a - b; });
    if (keys.length === 0) { grid.textContent = 'No histograms were recorded.'; return; }
    keys.forEach(function (l) {
      var sec = el('div', 'layer');
      sec.appendChild(el('h3', null, 'layer ' + l));
      var strips = el('div', 'strips');
      sec.appendChild(strips);
      grid.appendChild(sec);
      layers[l].forEach(function (hgram) { strip(strips, hgram, 'layer ' + l); });
    });
    legend(grid, [{ label: 'few values', colour: shade(0.05) },
                  { label: 'many values (share of the column)', colour: shade(1) },
                  { label: 'mean', colour: '#e07b00', thin: true },
                  { label: 'non-finite values at that check', colour: '#b3261e' }]
                 .concat(data.trap ? [{ label: 'trap', colour: '#b3261e', thin: true }] : []));
  }

  /* Inline `code` in a line of Markdown; links keep their text. */
  function inline(parent, text) {
    text = text.replace(/\[([^\]]+)\]\([^)]*\)/g, '$1');
    text.split('`').forEach(function (part, i) {
      parent.appendChild(i % 2 ? el('code', null, part)
                               : document.createTextNode(part));
    });
  }

  /* A small Markdown subset: headings, fences, lists, tables, paragraphs. */
  function markdown(text) {
    var page = el('div', 'md-page'), lines = text.split('\n'), i = 0, para = [];
    function flush() {
      if (para.length) { var p = el('p'); inline(p, para.join(' ')); page.appendChild(p); }
      para = [];
    }
    while (i < lines.length) {
      var s = lines[i];
      if (/^```/.test(s)) {
        flush();
        var code = [];
        for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
        page.appendChild(el('pre', null, code.join('\n')));
      } else if (/^#+ /.test(s)) {
        flush();
        var hd = el('h4'); inline(hd, s.replace(/^#+ /, '')); page.appendChild(hd);
      } else if (/^\s*([-*]|\d+\.) /.test(s)) {
        flush();
        var ul = el('ul');
        while (i < lines.length && /^\s*([-*]|\d+\.) /.test(lines[i])) {
          var li = el('li'), item = lines[i].replace(/^\s*([-*]|\d+\.) /, '');
          while (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1]) &&
                 !/^\s*([-*]|\d+\.) /.test(lines[i + 1])) item += ' ' + lines[++i].trim();
          inline(li, item); ul.appendChild(li); i++;
        }
        page.appendChild(ul);
        continue;
      } else if (/^\|/.test(s)) {
        flush();
        var table = [];
        while (i < lines.length && /^\|/.test(lines[i])) table.push(lines[i++]);
        page.appendChild(el('pre', null, table.join('\n')));
        continue;
      } else if (s.trim() === '') {
        flush();
      } else {
        para.push(s.trim());
      }
      i++;
    }
    flush();
    return page;
  }

  function pages() {
    Array.prototype.forEach.call(document.querySelectorAll('pre.md'), function (pre) {
      pre.parentNode.replaceChild(markdown(pre.textContent), pre);
    });
  }

  /* A link to an explanation opens it. */
  function openLinkedPage() {
    var id = decodeURIComponent(location.hash.slice(1)), d = document.getElementById(id);
    if (d && d.tagName === 'DETAILS') d.open = true;
  }

  var data;
  try {
    data = JSON.parse(document.getElementById('gc-data').textContent);
    var status;
    if (data.kind === 'sweep') {
      sweepChart();
      status = drawn + ' chart drawn from ' + data.h.length + ' steps h';
    } else {
      lossChart();
      logitChart();
      checkChart();
      histograms();
      pages();
      window.addEventListener('hashchange', openLinkedPage);
      openLinkedPage();
      status = drawn + ' charts drawn from ' +
        (data.train ? data.train.step.length : 0) + ' training windows and ' +
        (data.histograms || []).length + ' histogram series';
    }
    var marker = el('div', null, 'rendered ' + drawn + ' charts');
    marker.id = 'gc-rendered';
    marker.setAttribute('data-charts', String(drawn));
    marker.hidden = true;
    document.body.appendChild(marker);
    document.getElementById('gc-status').textContent = status;
  } catch (e) {
    window.onerror(String(e && e.stack ? e.stack : e), '', 0);
  }
})();
