(function () {
  'use strict';
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };
  function key(cell) {
    var v = cell.getAttribute('data-sort');
    return v !== null ? v : cell.textContent.trim().toLowerCase();
  }
  function sortBy(table, index, descending) {
    var th = table.tHead.rows[0].cells[index];
    var numeric = th.getAttribute('data-type') === 'number';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (x, y) {
      var a = key(x.cells[index]), b = key(y.cells[index]);
      var c = numeric ? (parseFloat(a) || 0) - (parseFloat(b) || 0) : a.localeCompare(b);
      return descending ? -c : c;
    });
    each(rows, function (r) { body.appendChild(r); });
    each(table.tHead.rows[0].cells, function (h) { h.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
  }
  each(document.querySelectorAll('table.sortable'), function (table) {
    each(table.tHead.rows[0].cells, function (th, index) {
      th.setAttribute('aria-sort', 'none');
      th.tabIndex = 0;
      th.title = 'Sort by this column';
      var go = function () { sortBy(table, index, th.getAttribute('aria-sort') === 'ascending'); };
      th.addEventListener('click', go);
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); }
      });
    });
  });
  var matrix = document.getElementById('matrix');
  var filter = document.getElementById('filter');
  var shown = document.getElementById('shown');
  function apply(text) {
    var q = text.trim().toLowerCase();
    var rows = matrix.tBodies[0].rows, n = 0;
    each(rows, function (row) {
      var match = q === '' || row.textContent.toLowerCase().indexOf(q) >= 0;
      row.hidden = !match;
      if (match) { n += 1; }
      var article = document.getElementById(row.getAttribute('data-target'));
      if (article) { article.hidden = !match; }
    });
    shown.textContent = n + ' of ' + rows.length + ' shown';
  }
  filter.addEventListener('input', function () { apply(filter.value); });
  var params = new URLSearchParams(window.location.hash.slice(1));
  var column = params.get('sort');
  if (column) {
    each(matrix.tHead.rows[0].cells, function (th, index) {
      if (th.getAttribute('data-key') === column) { sortBy(matrix, index, params.get('order') === 'desc'); }
    });
  }
  filter.value = params.get('filter') || '';
  apply(filter.value);
  window.addEventListener('beforeprint', function () {
    each(document.querySelectorAll('details'), function (d) { d.open = true; });
  });
  document.documentElement.setAttribute('data-ready', 'true');
}());
