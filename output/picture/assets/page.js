// The flowfence graph page: reads the graph from the JSON data element and
// draws it with cytoscape.js (dagre layout, namespaces as compound nodes).
// Every name is shown as text only (canvas labels, textContent); nothing
// from the data is parsed as HTML. After the layout, #status says what was
// drawn (data-state="ok", node counts, overlaps) for people and for tests.
(function () {
  'use strict';
  var status = document.getElementById('status');
  function fail(msg) {
    status.setAttribute('data-state', 'error');
    status.textContent = 'error: ' + msg;
  }
  window.addEventListener('error', function (e) { fail(String(e.message)); });
  try {
    var data = JSON.parse(document.getElementById('flowfence-graph').textContent);
    var started = performance.now();
    cytoscape.use(cytoscapeDagre);
    var groups = {};
    var els = [];
    data.groups.forEach(function (g) {
      groups[g.id] = g.name;
      els.push({ group: 'nodes', data: { id: g.id, label: g.name, kind: 'namespace' } });
    });
    // nodes join their namespace after the layout (see layout below)
    data.nodes.forEach(function (n) {
      els.push({ group: 'nodes', data: { id: n.id, label: n.label, kind: n.kind, detail: n.detail, w: Math.max(36, 7 * n.label.length + 16) } });
    });
    data.edges.forEach(function (e) {
      var label = e.ports.join(', ') + (e.state === 'learned' ? '' : ' (' + e.state + ')');
      els.push({ group: 'edges', data: { id: e.id, source: e.src, target: e.dst, label: label, state: e.state, flows: e.flows } });
    });
    var cy = cytoscape({
      container: document.getElementById('cy'),
      elements: els,
      wheelSensitivity: 0.3,
      minZoom: 0.02,
      maxZoom: 4,
      style: [
        { selector: 'node', style: { 'label': 'data(label)', 'font-size': 11, 'text-valign': 'center', 'text-halign': 'center', 'width': 'data(w)', 'height': 22, 'shape': 'round-rectangle', 'background-color': '#eef3fb', 'border-width': 1, 'border-color': '#7b8db0', 'min-zoomed-font-size': 6 } },
        { selector: 'node[kind = "entity"]', style: { 'shape': 'hexagon', 'background-color': '#f4efe6', 'border-color': '#a88b5a' } },
        { selector: 'node[kind = "external"]', style: { 'shape': 'ellipse', 'background-color': '#f1f1f1', 'border-color': '#8a8a8a' } },
        { selector: 'node[kind = "namespace"]', style: { 'shape': 'round-rectangle', 'background-color': '#f8fafd', 'background-opacity': 0.6, 'border-color': '#9aa9c2', 'border-style': 'dashed', 'text-valign': 'top', 'text-halign': 'center', 'font-size': 13, 'font-weight': 'bold', 'color': '#33507a', 'padding': 10, 'min-zoomed-font-size': 4 } },
        { selector: 'edge', style: { 'width': 1.2, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'line-color': '#7d8796', 'target-arrow-color': '#7d8796', 'label': 'data(label)', 'font-size': 8, 'text-rotation': 'autorotate', 'text-background-color': '#ffffff', 'text-background-opacity': 0.8, 'min-zoomed-font-size': 7, 'color': '#3f4754' } },
        { selector: 'edge[state = "denied"]', style: { 'line-style': 'dashed', 'line-color': '#c62828', 'target-arrow-color': '#c62828', 'color': '#c62828' } },
        { selector: 'edge[state = "new"]', style: { 'width': 2.6, 'line-color': '#2e7d32', 'target-arrow-color': '#2e7d32', 'color': '#2e7d32' } },
        { selector: '.faded', style: { 'opacity': 0.12 } },
        { selector: 'node.focus', style: { 'border-width': 3, 'border-color': '#1f5fbf' } }
      ],
      layout: { name: 'preset', fit: false }
    });
    layout();

    // layout: each namespace (and the peers outside every namespace) is a
    // block laid out on its own (dagre, left to right, on the edges inside
    // it; a grid when it has none), and the blocks are packed in rows.
    // Dagre over the whole graph with namespaces as compound nodes takes
    // minutes at 200 workloads; per block it takes milliseconds. The nodes
    // then move into their namespace's compound node.
    function layout() {
      var blocks = [];
      var byGroup = {};
      data.groups.forEach(function (g) { byGroup[g.id] = []; });
      var outside = [];
      data.nodes.forEach(function (n) { (n.group ? byGroup[n.group] : outside).push(cy.getElementById(n.id)); });
      data.groups.forEach(function (g) { blocks.push({ group: g.id, nodes: cy.collection(byGroup[g.id]) }); });
      if (outside.length > 0) { blocks.push({ group: '', nodes: cy.collection(outside) }); }
      var area = 0, widest = 0;
      blocks.forEach(function (b) {
        var inner = b.nodes.edgesWith(b.nodes);
        if (inner.length > 0) {
          // left to right or top to bottom, whichever shows the block
          // larger when it is fitted in the view alone
          var eles = b.nodes.union(inner), best = null;
          ['LR', 'TB'].forEach(function (dir) {
            eles.layout({ name: 'dagre', rankDir: dir, nodeSep: 8, rankSep: dir === 'LR' ? 60 : 40, edgeSep: 6, animate: false, fit: false }).run();
            var bb = b.nodes.boundingBox({ includeLabels: false });
            var z = Math.min((cy.width() - 60) / bb.w, (cy.height() - 60) / bb.h);
            if (best === null || z > best.z) {
              best = { z: z, pos: b.nodes.map(function (n) { var p = n.position(); return { x: p.x, y: p.y }; }) };
            }
          });
          b.nodes.forEach(function (n, i) { n.position(best.pos[i]); });
        } else {
          var cols = Math.max(1, Math.round(Math.sqrt(b.nodes.length / 3)));
          var cell = 0;
          b.nodes.forEach(function (n) { cell = Math.max(cell, n.data('w')); });
          b.nodes.forEach(function (n, i) { n.position({ x: (i % cols) * (cell + 24), y: Math.floor(i / cols) * 34 }); });
        }
        b.box = b.nodes.boundingBox({ includeLabels: false });
        area += (b.box.w + 60) * (b.box.h + 80);
        widest = Math.max(widest, b.box.w + 60);
      });
      var rowWidth = Math.max(widest, Math.sqrt(area) * 1.6);
      var x = 0, y = 0, rowHeight = 0;
      blocks.forEach(function (b) {
        if (x > 0 && x + b.box.w > rowWidth) { x = 0; y += rowHeight; rowHeight = 0; }
        var dx = x - b.box.x1, dy = y - b.box.y1;
        b.nodes.positions(function (n) { var p = n.position(); return { x: p.x + dx, y: p.y + dy }; });
        x += b.box.w + 60;
        rowHeight = Math.max(rowHeight, b.box.h + 80);
      });
      cy.batch(function () {
        blocks.forEach(function (b) { if (b.group) { b.nodes.move({ parent: b.group }); } });
      });
      cy.fit(undefined, 20);
    }

    var details = document.getElementById('details');
    function describe(n) {
      var lines = [n.data('detail')];
      n.outgoers('edge').forEach(function (e) { lines.push('→ ' + e.target().data('label') + '  ' + e.data('label')); });
      n.incomers('edge').forEach(function (e) { lines.push('← ' + e.source().data('label') + '  ' + e.data('label')); });
      return lines.join('\n');
    }
    function focus(n) {
      var hood = n.closedNeighborhood();
      cy.elements().addClass('faded');
      hood.union(hood.parents()).removeClass('faded');
      cy.nodes().removeClass('focus');
      n.addClass('focus');
      details.textContent = describe(n);
      cy.animate({ fit: { eles: hood, padding: 40 }, duration: 200 });
    }
    function reset() {
      cy.elements().removeClass('faded focus');
      details.textContent = 'Click a node (or a name in the list) to see its connections.';
    }
    cy.on('tap', 'node[kind != "namespace"]', function (ev) { focus(ev.target); });
    cy.on('tap', function (ev) { if (ev.target === cy) { reset(); } });

    // the node list: one item per node, names as text
    var list = document.getElementById('nodes');
    var items = [];
    data.nodes.forEach(function (n) {
      var li = document.createElement('li');
      li.setAttribute('data-node', n.id);
      if (n.group) {
        var ns = document.createElement('span');
        ns.className = 'ns';
        ns.textContent = groups[n.group] + '/';
        li.appendChild(ns);
      }
      li.appendChild(document.createTextNode(n.label));
      li.title = n.detail;
      li.addEventListener('click', function () { focus(cy.getElementById(n.id)); });
      list.appendChild(li);
      items.push({ li: li, text: ((n.group ? groups[n.group] + '/' : '') + n.label + ' ' + n.detail).toLowerCase(), id: n.id });
    });

    var search = document.getElementById('search');
    search.addEventListener('input', function () {
      var q = search.value.trim().toLowerCase();
      var hits = cy.collection();
      items.forEach(function (it) {
        var hit = q !== '' && it.text.indexOf(q) >= 0;
        it.li.classList.toggle('match', hit);
        it.li.classList.toggle('hidden', q !== '' && !hit);
        if (hit) { hits = hits.union(cy.getElementById(it.id)); }
      });
      if (q === '') { reset(); cy.fit(undefined, 20); return; }
      cy.elements().addClass('faded');
      var shown = hits.union(hits.connectedEdges());
      shown.union(shown.connectedNodes()).union(hits.parents()).removeClass('faded');
      if (hits.length > 0) { cy.fit(hits, 40); }
    });
    var select = document.getElementById('namespace');
    data.groups.forEach(function (g) {
      var o = document.createElement('option');
      o.value = g.id;
      o.textContent = g.name;
      select.appendChild(o);
    });
    select.addEventListener('change', function () {
      reset();
      if (select.value === '') { cy.fit(undefined, 20); return; }
      var g = cy.getElementById(select.value);
      var members = g.children();
      var hood = members.closedNeighborhood();
      cy.elements().addClass('faded');
      hood.union(hood.parents()).union(g).removeClass('faded');
      cy.fit(g, 30);
    });
    document.getElementById('fit').addEventListener('click', function () { search.value = ''; select.value = ''; reset(); cy.fit(undefined, 20); });
    reset();

    // what was drawn: leaf nodes placed at finite positions with a size,
    // and pairs of them that overlap (the layout keeps them apart)
    var leaves = cy.nodes().filter(function (n) { return !n.isParent() && n.data('kind') !== 'namespace'; });
    var drawn = leaves.filter(function (n) {
      var p = n.position(), bb = n.renderedBoundingBox({ includeLabels: false });
      return n.visible() && isFinite(p.x) && isFinite(p.y) && bb.w > 0 && bb.h > 0;
    });
    var boxes = drawn.map(function (n) { return n.boundingBox({ includeLabels: false, includeOverlays: false }); });
    var overlaps = 0;
    for (var i = 0; i < boxes.length; i++) {
      for (var j = i + 1; j < boxes.length; j++) {
        var a = boxes[i], b = boxes[j];
        if (a.x1 < b.x2 - 1 && b.x1 < a.x2 - 1 && a.y1 < b.y2 - 1 && b.y1 < a.y2 - 1) { overlaps++; }
      }
    }
    var vp = cy.extent();
    var inView = drawn.filter(function (n) {
      var bb = n.boundingBox({ includeLabels: false });
      return bb.x1 >= vp.x1 - 1 && bb.x2 <= vp.x2 + 1 && bb.y1 >= vp.y1 - 1 && bb.y2 <= vp.y2 + 1;
    });
    status.setAttribute('data-nodes', String(drawn.length));
    status.setAttribute('data-in-view', String(inView.length));
    status.setAttribute('data-overlaps', String(overlaps));
    status.setAttribute('data-edges', String(cy.edges().length));
    status.setAttribute('data-groups', String(cy.nodes('[kind = "namespace"]').length));
    // readability: the node labels' size on screen when the whole graph
    // is fitted, and the smallest when one namespace is shown (the
    // namespace selector fits it in the view)
    var nodeFont = 11, smallest = Infinity;
    data.groups.forEach(function (g) {
      var bb = cy.getElementById(g.id).boundingBox();
      var z = Math.min(cy.maxZoom(), (cy.width() - 60) / bb.w, (cy.height() - 60) / bb.h);
      smallest = Math.min(smallest, nodeFont * z);
    });
    status.setAttribute('data-fit-font-px', (nodeFont * cy.zoom()).toFixed(1));
    status.setAttribute('data-namespace-font-px', smallest === Infinity ? '' : smallest.toFixed(1));
    status.setAttribute('data-layout-ms', String(Math.round(performance.now() - started)));
    if (status.getAttribute('data-state') !== 'error') {
      status.setAttribute('data-state', 'ok');
      status.textContent = drawn.length + ' nodes and ' + cy.edges().length + ' edges drawn';
    }
  } catch (e) {
    fail(e && e.message ? e.message : String(e));
  }
})();
