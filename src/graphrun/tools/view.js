/* graphrun view: steps, paths, details and pan/zoom. Every number and line it shows was computed
   by graphrun and sits in the page's JSON; this script only shows and hides. No network. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("graphrun-data").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var body = document.body, svg = $("graph"), viewport = $("viewport"), stage = $("stage");
  var slider = $("slider"), last = data.steps.length - 1;
  var BOX_W = 184;
  var nodeEl = {}, edgeEl = {};
  Array.prototype.forEach.call(document.querySelectorAll("g.node"), function (g) {
    nodeEl[g.getAttribute("data-slot")] = g;
  });
  Array.prototype.forEach.call(document.querySelectorAll("g.edge"), function (g) {
    edgeEl[g.id] = g;
  });
  var current = 0, selected = null, pinned = null;

  function each(map, f) { Object.keys(map).forEach(function (k) { f(map[k]); }); }
  function clear(cls) {
    Array.prototype.forEach.call(document.querySelectorAll("." + cls), function (el) {
      el.classList.remove(cls);
    });
  }
  function mark(ids, els, cls) {
    ids.forEach(function (id) { var el = els[id]; if (el) { el.classList.add(cls); } });
  }

  /* ---- stepping ---- */
  function go(k) {
    k = Math.max(0, Math.min(last, k | 0));
    current = k;
    slider.value = String(k);
    var step = data.steps[k];
    data.nodes.forEach(function (n) {
      var g = nodeEl[n.slot];
      g.classList.toggle("computed", n.f <= k);
      g.classList.toggle("blamed", n.b !== null && n.b <= k);
    });
    clear("current"); clear("near"); clear("inplay");
    if (step.node !== null) {
      nodeEl[step.node].classList.add("current");
      mark(step.near, nodeEl, "near");
      mark(step.edges, edgeEl, "inplay");
    }
    body.setAttribute("data-phase", step.phase);
    body.setAttribute("data-step", String(k));
    var phase = step.phase === "start" ? "start" : step.phase + " pass";
    $("step-label").textContent = "step " + k + " of " + last + " · " + phase +
      (step.node !== null ? " · " + data.nodes[step.node].name : "");
    $("line").textContent = step.lines.join("\n");
    var caption = data.caption[step.phase] || "";
    if (k === last && data.unreached) { caption += (caption ? "; " : "") + data.unreached; }
    $("caption").textContent = caption;
    details(selected === null ? step.node : selected);
    if (step.node !== null) { reveal(step.node); }
  }

  /* ---- a node's numbers: a heat-mapped table for a small tensor, a summary for a big one ---- */
  function heat(x, scale) {
    if (!isFinite(x) || scale === 0) { return "#ffffff"; }
    var t = Math.max(-1, Math.min(1, x / scale));
    var a = Math.round(255 - 120 * Math.abs(t));
    return t >= 0 ? "rgb(255," + a + "," + a + ")" : "rgb(" + a + "," + a + ",255)";
  }
  function quantity(title, q) {
    var box = document.createElement("div");
    var h = document.createElement("h2");
    h.textContent = title;
    box.appendChild(h);
    if (q.table && !(q.table.length === 1 && q.table[0].length === 1)) {
      var scale = 0;
      q.table.forEach(function (row) { row.forEach(function (x) {
        scale = Math.max(scale, Math.abs(parseFloat(x)) || 0); }); });
      var table = document.createElement("table");
      table.className = "numbers";
      q.table.forEach(function (row) {
        var tr = document.createElement("tr");
        row.forEach(function (x) {
          var td = document.createElement("td");
          td.textContent = x;
          td.style.background = heat(parseFloat(x), scale);
          tr.appendChild(td);
        });
        table.appendChild(tr);
      });
      box.appendChild(table);
    }
    var p = document.createElement("div");
    p.className = "summary";
    p.textContent = q.text;
    box.appendChild(p);
    return box;
  }
  function details(slot) {
    var box = $("details");
    box.textContent = "";
    if (slot === null || slot === undefined) { return; }
    var n = data.nodes[slot];
    var h = document.createElement("h2");
    var what = n.op ? " = " + n.op : " (" + (n.kind === "const" ? "literal" : n.kind) + ")";
    h.textContent = n.name + what + ": " + (n.shape === "()" ? "scalar" : n.shape) + " " + n.dtype;
    box.appendChild(h);
    var k = current;
    if (n.f <= k) { box.appendChild(quantity("value", n.value)); }
    else { box.appendChild(note("value: not computed yet (step " + n.f + ")")); }
    if (n.grad) {
      if (n.b !== null && n.b <= k) {
        box.appendChild(quantity("gradient d" + lossName() + "/d" + n.name, n.grad));
      } else if (n.b !== null) {
        box.appendChild(note("gradient: not known yet (step " + n.b + ")"));
      }
    }
  }
  function note(text) { var p = document.createElement("p"); p.textContent = text; return p; }
  function lossName() { return data.loss === null ? "" : data.nodes[data.loss].name; }

  /* ---- a param's paths to the loss ---- */
  function showPaths(slot) {
    var info = data.params[String(slot)];
    var section = $("paths");
    clear("onpath"); clear("pathhl"); clear("pinned");
    body.classList.remove("paths");
    pinned = null;
    if (!info) { section.hidden = true; return; }
    section.hidden = false;
    body.classList.add("paths");
    $("paths-heading").textContent = info.heading.join("\n");
    mark(info.nodes, nodeEl, "onpath");
    mark(info.edges, edgeEl, "onpath");
    var list = $("path-list");
    list.textContent = "";
    info.paths.forEach(function (path, i) {
      var li = document.createElement("li");
      var pre = document.createElement("pre");
      pre.textContent = path.lines.join("\n");
      li.appendChild(pre);
      li.setAttribute("data-path", String(i + 1));
      li.addEventListener("mouseenter", function () { if (pinned === null) { highlight(path); } });
      li.addEventListener("mouseleave", function () { if (pinned === null) { clear("pathhl"); } });
      li.addEventListener("click", function () {
        clear("pinned");
        if (pinned === i) { pinned = null; clear("pathhl"); return; }
        pinned = i; li.classList.add("pinned"); highlight(path);
      });
      list.appendChild(li);
    });
    $("paths-total").textContent = info.total || "";
    $("paths-steps").textContent = info.steps.join("\n");
  }
  function highlight(path) {
    clear("pathhl");
    mark(path.edges, edgeEl, "pathhl");
  }
  function select(slot) {
    clear("selected");
    selected = slot;
    if (slot === null) {
      showPaths(null);
      details(data.steps[current].node);
      return;
    }
    nodeEl[slot].classList.add("selected");
    details(slot);
    showPaths(data.nodes[slot].kind === "param" ? slot : null);
  }
  Object.keys(nodeEl).forEach(function (slot) {
    nodeEl[slot].addEventListener("click", function (e) {
      e.stopPropagation();
      select(selected === +slot ? null : +slot);
    });
  });

  /* ---- pan and zoom: a transform on the viewport group ---- */
  var tx = 0, ty = 0, s = 1;
  function apply() {
    viewport.setAttribute("transform", "translate(" + tx.toFixed(1) + "," + ty.toFixed(1) +
      ") scale(" + s.toFixed(4) + ")");
  }
  function zoomAt(px, py, factor) {
    var ns = Math.max(0.05, Math.min(4, s * factor));
    tx = px - (px - tx) * ns / s;
    ty = py - (py - ty) * ns / s;
    s = ns;
    apply();
  }
  function fit() {
    var r = stage.getBoundingClientRect();
    s = Math.min(r.width / data.width, r.height / data.height, 1.5);
    if (s < 0.6) {  // too small to read: start readable, at the left, and let the steps lead
      s = 0.8;
      tx = 0;
      ty = Math.min(0, (r.height - data.height * s) / 2);
    } else {
      tx = (r.width - data.width * s) / 2;
      ty = (r.height - data.height * s) / 2;
    }
    apply();
  }
  function reveal(slot) {  // pan just enough to bring the node into view, never more
    var n = data.nodes[slot], r = stage.getBoundingClientRect(), m = 12;
    var left = tx + n.x * s, top = ty + n.y * s, right = left + BOX_W * s, bottom = top + n.h * s;
    var dx = left < m ? m - left : (right > r.width - m ? r.width - m - right : 0);
    var dy = top < m ? m - top : (bottom > r.height - m ? r.height - m - bottom : 0);
    if (dx || dy) { tx += dx; ty += dy; apply(); }
  }
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = svg.getBoundingClientRect();
    zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
  }, { passive: false });
  var drag = null;
  svg.addEventListener("pointerdown", function (e) {
    if (e.target.closest && e.target.closest("g.node")) { return; }
    drag = { x: e.clientX, y: e.clientY, tx: tx, ty: ty, moved: false };
    stage.classList.add("panning");
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    tx = drag.tx + e.clientX - drag.x;
    ty = drag.ty + e.clientY - drag.y;
    drag.moved = drag.moved || Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3;
    apply();
  });
  svg.addEventListener("pointerup", function () {
    if (drag && !drag.moved && selected !== null) { select(null); }
    drag = null;
    stage.classList.remove("panning");
  });
  function zoomCentre(f) {
    var r = stage.getBoundingClientRect();
    zoomAt(r.width / 2, r.height / 2, f);
  }
  $("zoom-in").addEventListener("click", function () { zoomCentre(1.25); });
  $("zoom-out").addEventListener("click", function () { zoomCentre(0.8); });
  $("zoom-fit").addEventListener("click", fit);

  /* ---- the controls ---- */
  $("first").addEventListener("click", function () { go(0); });
  $("prev").addEventListener("click", function () { go(current - 1); });
  $("next").addEventListener("click", function () { go(current + 1); });
  $("last").addEventListener("click", function () { go(last); });
  slider.addEventListener("input", function () { go(+slider.value); });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var onSlider = e.target === slider || e.target.type === "range";
    var key = e.key;
    if (!onSlider && (key === "ArrowRight" || key === "ArrowDown" || key === "PageDown" ||
                      key === "n" || key === "j" || key === " ")) { go(current + 1); }
    else if (!onSlider && (key === "ArrowLeft" || key === "ArrowUp" || key === "PageUp" ||
                           key === "p" || key === "k")) { go(current - 1); }
    else if (!onSlider && key === "Home") { go(0); }
    else if (!onSlider && key === "End") { go(last); }
    else if (key === "Escape") { select(null); }
    else if (key === "+" || key === "=") { zoomCentre(1.25); }
    else if (key === "-") { zoomCentre(0.8); }
    else if (key === "0") { fit(); }
    else { return; }
    e.preventDefault();
  });

  /* ---- a training run: the loss curve and a slider over the recorded steps ---- */
  if (data.history) {
    var hs = $("history-slider"), marker = $("curve-marker");
    var showRow = function () {
      var i = +hs.value, row = data.history.rows[i], pt = data.history.points[i];
      marker.setAttribute("cx", String(pt[0]));
      marker.setAttribute("cy", String(pt[1]));
      var text = "step " + row.step + ": lr " + row.lr + ", loss " + row.loss;
      row.reported.forEach(function (kv) { text += ", " + kv[0] + " " + kv[1]; });
      $("history-line").textContent = text;
    };
    hs.addEventListener("input", showRow);
    showRow();
  }

  fit();
  var start = /(?:^|[#&])step=(\d+)/.exec(location.hash);
  go(start ? +start[1] : 0);
  body.setAttribute("data-ready", "1");
}());
