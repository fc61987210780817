(function () {
  'use strict';
  // Filters and sorting for report.html. Reads only the page's own DOM; the state is kept in
  // the address's fragment (#verdict=disproved&block=700&check=S4&q=oracle&failed=1&sort=checks:margin:asc).
  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }
  var controls = {
    verdict: document.getElementById('f-verdict'),
    block: document.getElementById('f-block'),
    check: document.getElementById('f-check'),
    q: document.getElementById('f-q'),
    failed: document.getElementById('f-failed')
  };
  var sortState = null;

  function state() {
    return {
      verdict: controls.verdict.value,
      block: controls.block.value,
      check: controls.check.value,
      q: controls.q.value.trim().toLowerCase(),
      failed: controls.failed.checked
    };
  }

  // A check filter names a check or a property (`S4` matches `S4_mode` and `1gwei:S4_mode`).
  function checkMatches(row, wanted) {
    return !wanted || row.getAttribute('data-check') === wanted || row.getAttribute('data-group') === wanted;
  }

  function idMatches(row, q) {
    return !q || (row.getAttribute('data-id') || '').toLowerCase().indexOf(q) >= 0;
  }

  function setCount(id, shown, total) {
    var el = document.getElementById(id);
    if (el) { el.textContent = shown + ' of ' + total; }
  }

  function apply() {
    var s = state();
    var shown = 0, rows = all('#experiments tbody tr');
    rows.forEach(function (tr) {
      var v = tr.getAttribute('data-verdict');
      var names = (tr.getAttribute('data-checks') || '').split('\n');
      var ok = (!s.verdict || v === s.verdict) &&
        (!s.block || tr.getAttribute('data-block') === s.block) &&
        idMatches(tr, s.q) &&
        (!s.check || names.indexOf(s.check) >= 0) &&
        (!s.failed || v !== 'held');
      tr.hidden = !ok;
      if (ok) { shown++; }
    });
    setCount('count-experiments', shown, rows.length);

    shown = 0; rows = all('#checks tbody tr');
    rows.forEach(function (tr) {
      var ok = (!s.verdict || tr.getAttribute('data-verdict') === s.verdict) &&
        (!s.block || tr.getAttribute('data-block') === s.block) &&
        idMatches(tr, s.q) &&
        checkMatches(tr, s.check) &&
        (!s.failed || tr.getAttribute('data-passed') !== 'true');
      tr.hidden = !ok;
      if (ok) { shown++; }
    });
    setCount('count-checks', shown, rows.length);

    all('#grid-table [data-block]').forEach(function (cell) {
      cell.classList.toggle('col-hidden', !!s.block && cell.getAttribute('data-block') !== s.block);
      var v = cell.getAttribute('data-verdict');
      if (v !== null && cell.tagName === 'TD') {
        cell.classList.toggle('dim', !!s.verdict && v !== s.verdict);
      }
    });
    all('#grid-table tbody tr').forEach(function (tr) {
      var verdicts = (tr.getAttribute('data-verdicts') || '').split(' ');
      tr.hidden = !idMatches(tr, s.q) ||
        (s.failed && verdicts.every(function (v) { return v === 'held'; })) ||
        (!!s.verdict && verdicts.indexOf(s.verdict) < 0);
    });
    all('#blocks-table tbody tr, #degraded-pairs tbody tr').forEach(function (tr) {
      tr.hidden = (!!s.block && tr.getAttribute('data-block') !== s.block) ||
        (tr.hasAttribute('data-id') && !idMatches(tr, s.q));
    });
  }

  function toHash() {
    var s = state(), p = [];
    if (s.verdict) { p.push('verdict=' + encodeURIComponent(s.verdict)); }
    if (s.block) { p.push('block=' + encodeURIComponent(s.block)); }
    if (s.check) { p.push('check=' + encodeURIComponent(s.check)); }
    if (controls.q.value.trim()) { p.push('q=' + encodeURIComponent(controls.q.value.trim())); }
    if (s.failed) { p.push('failed=1'); }
    if (sortState) { p.push('sort=' + encodeURIComponent(sortState.join(':'))); }
    try {
      history.replaceState(null, '', p.length ? '#' + p.join('&') : location.pathname + location.search);
    } catch (e) { /* some file:// contexts refuse; the filter still applies */ }
  }

  function selectValue(select, value) {
    var known = all('option', select).some(function (o) { return o.value === value; });
    select.value = known ? value : '';
  }

  // A fragment without `=` is an anchor (a link from the grid), not a filter.
  function fromHash() {
    var hash = location.hash.replace(/^#/, '');
    if (hash.indexOf('=') < 0) { return false; }
    var params = {};
    hash.split('&').forEach(function (pair) {
      var at = pair.indexOf('=');
      if (at > 0) {
        try { params[pair.slice(0, at)] = decodeURIComponent(pair.slice(at + 1).replace(/\+/g, ' ')); } catch (e) { /* ignore a malformed part */ }
      }
    });
    selectValue(controls.verdict, params.verdict || '');
    selectValue(controls.block, params.block || '');
    selectValue(controls.check, params.check || '');
    controls.q.value = params.q || '';
    controls.failed.checked = params.failed === '1';
    if (params.sort) {
      var parts = params.sort.split(':');
      sortBy(parts[0], parts[1], parts[2] === 'desc');
    }
    return true;
  }

  // --------------------------------------------------------------------------- sorting

  function cellValue(row, index, numeric) {
    var cell = row.children[index];
    if (!cell) { return numeric ? Infinity : ''; }
    var raw = cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent;
    if (!numeric) { return raw.trim().toLowerCase(); }
    var n = Number(raw);
    return isNaN(n) ? Infinity : n;
  }

  // Compare big integers exactly when both are plain decimal strings (values exceed 2^53).
  function compareDecimal(a, b) {
    var an = a.charAt(0) === '-', bn = b.charAt(0) === '-';
    if (an !== bn) { return an ? -1 : 1; }
    var x = an ? a.slice(1) : a, y = bn ? b.slice(1) : b;
    var c = x.length !== y.length ? x.length - y.length : (x < y ? -1 : (x > y ? 1 : 0));
    return an ? -c : c;
  }

  function sortBy(tableId, key, descending) {
    var table = document.getElementById(tableId);
    if (!table || !table.tBodies[0]) { return; }
    var heads = all('thead th', table);
    var index = -1;
    heads.forEach(function (th, i) {
      if (th.getAttribute('data-key') === key || String(i) === String(key)) { index = i; }
    });
    if (index < 0) { return; }
    var th = heads[index];
    var numeric = th.getAttribute('data-sort') === 'num';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var decimal = /^-?[0-9]+$/;
    rows.forEach(function (r, i) { r._order = i; });
    rows.sort(function (a, b) {
      var c;
      var ra = a.children[index], rb = b.children[index];
      var va = ra && ra.getAttribute('data-v'), vb = rb && rb.getAttribute('data-v');
      if (numeric && va !== null && vb !== null && decimal.test(va) && decimal.test(vb)) {
        c = compareDecimal(va, vb);
      } else {
        var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
        c = x < y ? -1 : (x > y ? 1 : 0);
      }
      if (descending) { c = -c; }
      return c || a._order - b._order;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    sortState = [tableId, th.getAttribute('data-key') || String(index), descending ? 'desc' : 'asc'];
  }

  all('table.sortable').forEach(function (table) {
    all('thead th', table).forEach(function (th, i) {
      if (!th.hasAttribute('data-sort')) { th.setAttribute('data-sort', 'text'); }
      th.setAttribute('tabindex', '0');
      function activate() {
        var descending = th.getAttribute('aria-sort') === 'ascending';
        sortBy(table.id, th.getAttribute('data-key') || String(i), descending);
        toHash();
      }
      th.addEventListener('click', activate);
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); activate(); }
      });
    });
  });

  Object.keys(controls).forEach(function (name) {
    var el = controls[name];
    el.addEventListener(el.tagName === 'INPUT' && el.type === 'search' ? 'input' : 'change', function () {
      apply();
      toHash();
    });
  });
  document.getElementById('filters').addEventListener('reset', function () {
    setTimeout(function () { apply(); toHash(); }, 0);
  });
  document.getElementById('filters').addEventListener('submit', function (e) { e.preventDefault(); });
  window.addEventListener('hashchange', function () { if (fromHash()) { apply(); } });

  fromHash();
  apply();
  document.documentElement.setAttribute('data-ready', '1');
}());
