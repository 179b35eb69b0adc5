(function () {
  "use strict";
  var root = document.documentElement;
  window.addEventListener("error", function (e) {
    root.setAttribute("data-js-error", String(e.message || e));
  });
  var data = JSON.parse(document.getElementById("dynbench-data").textContent);
  var PAGE = 50;
  var $ = function (id) { return document.getElementById(id); };
  var fTask = $("f-task"), fOut = $("f-outcome"), fSort = $("f-sort"), fText = $("f-text");
  var list = $("samples"), more = $("more"), count = $("f-count");
  var matching = [], shown = 0, openId = "";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    fTask.value = p.get("task") || ""; fOut.value = p.get("outcome") || "";
    fSort.value = p.get("sort") || "id"; fText.value = p.get("q") || "";
    openId = p.get("open") || "";
    if (fTask.selectedIndex < 0) fTask.value = "";
    if (fOut.selectedIndex < 0) fOut.value = "";
    if (fSort.selectedIndex < 0) fSort.value = "id";
  }
  function writeHash() {
    var p = new URLSearchParams();
    if (fTask.value) p.set("task", fTask.value);
    if (fOut.value) p.set("outcome", fOut.value);
    if (fSort.value !== "id") p.set("sort", fSort.value);
    if (fText.value) p.set("q", fText.value);
    openId = "";
    try { history.replaceState(null, "", "#" + p.toString()); } catch (err) { /* file: */ }
  }
  function matches(s, text) {
    if (fTask.value && s.task !== fTask.value) return false;
    if (fOut.value && s.outcome !== fOut.value) return false;
    if (!text) return true;
    return [s.id, s.prompt, s.output].some(function (v) {
      return v && String(v).toLowerCase().indexOf(text) >= 0;
    });
  }
  function field(dl, name, value, pre) {
    if (value === undefined || value === null || value === "") return;
    dl.appendChild(el("dt", null, name));
    var dd = el("dd"); dd.appendChild(el(pre ? "pre" : "span", null, value));
    dl.appendChild(dd);
  }
  function img(src, alt) {
    var td = el("td");
    if (src) { var i = el("img"); i.src = src; i.alt = alt; td.appendChild(i); }
    else td.textContent = "–";
    return td;
  }
  function strip(s) {
    if (!s.strip) return el("p", "meta", "no frame strip (only the " +
      "lowest-J&F cases of each task carry one)");
    if (typeof s.strip === "string") return el("p", "meta", s.strip);
    var t = el("table", "strip"), head = el("tr");
    ["frame", "image", "ground truth", "prediction", "overlay"].forEach(function (h) {
      head.appendChild(el("th", null, h));
    });
    t.appendChild(head);
    s.strip.forEach(function (r) {
      var tr = el("tr"); tr.appendChild(el("td", null, r.frame));
      tr.appendChild(img(r.image, "frame")); tr.appendChild(img(r.truth, "ground truth"));
      tr.appendChild(img(r.pred, "prediction")); tr.appendChild(img(r.overlay, "overlay"));
      t.appendChild(tr);
    });
    return t;
  }
  function body(s) {
    var div = el("div", "body"), dl = el("dl");
    field(dl, "prompt", s.prompt, true);
    field(dl, s.kind === "qa" ? "raw output" : "model text", s.output, true);
    if (s.kind === "qa") {
      field(dl, "extracted letter", s.extracted === null ? "(none)" : s.extracted);
      field(dl, "true letter", s.truth); field(dl, "extraction", s.method);
    } else if (s.jf !== null) {
      field(dl, "J / F / J&F (%)", s.j + " / " + s.f + " / " + s.jf);
    }
    field(dl, "reason", s.reason); field(dl, "error", s.error, true);
    field(dl, "notes", s.notes.length ? s.notes.join("; ") : null);
    field(dl, "shown frames", s.frames ? s.frames.join(", ") : null);
    div.appendChild(dl);
    if (s.kind === "mask" && s.curve) div.appendChild(curve(s.curve));
    if (s.kind === "mask" && s.outcome !== "n/a") div.appendChild(strip(s));
    return div;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }
  function curve(points) {
    var W = 440, H = 110, L = 34, R = 10, T = 6, n = points.length;
    var box = el("div", "curve");
    box.appendChild(el("p", "meta", "per-frame J&F (%) over the shown frames " +
      "(solid; J and F dashed)"));
    var g = svg("svg", {width: W, height: H + T + 18, role: "img",
                        "aria-label": "per-frame J&F"});
    function x(i) { return n > 1 ? L + i * (W - L - R) / (n - 1) : (L + W - R) / 2; }
    function y(v) { return T + (1 - Math.max(0, Math.min(1, Number(v) || 0))) * H; }
    [0, 0.5, 1].forEach(function (t) {
      g.appendChild(svg("line", {x1: L, x2: W - R, y1: y(t), y2: y(t), stroke: "#e5e7eb"}));
      var label = svg("text", {x: L - 4, y: y(t) + 4, "text-anchor": "end", fill: "#7a8494"});
      label.textContent = String(t * 100); g.appendChild(label);
    });
    [[function (p) { return (p[1] + p[2]) / 2; }, "#1d2330", ""],
     [function (p) { return p[1]; }, "#4a6fd1", "4 3"],
     [function (p) { return p[2]; }, "#e07b28", "4 3"]].forEach(function (series) {
      var at = points.map(function (p, i) { return x(i).toFixed(1) + "," +
                                                    y(series[0](p)).toFixed(1); });
      g.appendChild(svg("polyline", {points: at.join(" "), fill: "none", stroke: series[1],
                                     "stroke-width": series[2] ? 1 : 2,
                                     "stroke-dasharray": series[2] || "none"}));
    });
    [0, n - 1].forEach(function (i, k) {
      var t = svg("text", {x: x(i), y: H + T + 14, "text-anchor": k ? "end" : "start",
                           fill: "#7a8494"});
      t.textContent = "frame " + Number(points[i][0]); g.appendChild(t);
    });
    box.appendChild(g);
    return box;
  }
  function score(s) {
    if (s.kind === "qa" && s.outcome !== "error" && s.outcome !== "n/a")
      return (s.extracted || "–") + " vs " + (s.truth || "?");
    return s.jf !== null && s.outcome !== "n/a" ? "J&F " + s.jf : "";
  }
  function row(s) {
    var d = el("details", "sample"), sum = el("summary");
    d.setAttribute("data-id", s.id); d.setAttribute("data-task", s.task);
    d.setAttribute("data-outcome", s.outcome);
    sum.appendChild(el("span", "badge o-" + s.outcome, s.outcome));
    sum.appendChild(el("span", "sid", s.id)); sum.appendChild(el("span", null, score(s)));
    if (s.latency !== null) sum.appendChild(el("span", "meta", s.latency + " s"));
    d.appendChild(sum);
    d.addEventListener("toggle", function () { if (d.open) fill(d, s); });
    return d;
  }
  function fill(d, s) { if (d.children.length === 1) d.appendChild(body(s)); }
  function openLinked() {
    if (!openId) return;
    var at = matching.findIndex(function (s) { return s.id === openId; });
    if (at < 0) return;
    while (shown <= at) showMore();
    var d = list.children[at];
    fill(d, matching[at]); d.open = true; d.scrollIntoView();
  }
  function showMore() {
    var end = Math.min(matching.length, shown + PAGE);
    for (; shown < end; shown++) list.appendChild(row(matching[shown]));
    more.hidden = shown >= matching.length;
    list.setAttribute("data-shown", shown);
    count.textContent = matching.length + " matching, " + shown + " shown";
  }
  function render() {
    var text = fText.value.trim().toLowerCase();
    matching = data.filter(function (s) { return matches(s, text); });
    if (fSort.value === "worst") matching.sort(function (a, b) {
      return a.rank - b.rank || (a.id < b.id ? -1 : 1);
    });
    list.textContent = ""; shown = 0;
    list.setAttribute("data-matching", matching.length);
    showMore(); openLinked();
  }
  function changed() { writeHash(); render(); }
  [fTask, fOut, fSort].forEach(function (e) { e.addEventListener("change", changed); });
  fText.addEventListener("input", changed);
  more.addEventListener("click", showMore);
  window.addEventListener("hashchange", function () { readHash(); render(); });
  readHash(); render();
  if (!root.hasAttribute("data-js-error")) root.setAttribute("data-js", "ok");
})();
