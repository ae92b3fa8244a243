"""The explorer's HTML page: markup, style and script in one string (no CDN, no fetch, no server).

``__TITLE__``, ``__DATA__`` (JSON) and ``__SPRITE__`` (a base64 PNG data URL) are filled in by
``aekit.report.explorer.write_explorer``. The script exposes ``window.explorer`` (state and
``screenPos(i)``) so a browser test can find a point and check what the page shows.
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>__TITLE__</title>
<style>
  body { font: 13px system-ui, sans-serif; margin: 0; display: flex; gap: 12px; padding: 10px; background: #fafafa; }
  #map { border: 1px solid #bbb; background: #fff; cursor: crosshair; }
  #side { width: 420px; display: flex; flex-direction: column; gap: 10px; }
  .box { border: 1px solid #ddd; background: #fff; padding: 8px; }
  .pix { image-rendering: pixelated; width: 112px; border: 1px solid #ccc; background: #000; }
  #line { image-rendering: pixelated; width: 400px; border: 1px solid #ccc; background: #000; }
  #legend span { display: inline-block; margin: 2px 6px 2px 0; }
  #legend i { display: inline-block; width: 10px; height: 10px; margin-right: 3px; }
  h1 { font-size: 15px; margin: 0 0 4px 0; }
  .muted { color: #666; }
</style>
</head>
<body>
<canvas id="map" width="720" height="720"></canvas>
<div id="side">
  <div class="box">
    <h1>__TITLE__</h1>
    <div class="muted" id="how"></div>
    <div>colour by <select id="colour"></select>
      search <input id="search" type="search" placeholder="file name" size="18"> <span id="found"></span></div>
    <div id="legend"></div>
    <div class="muted">wheel: zoom, drag: pan, click: pick (two picks show the line between them), Esc: clear</div>
  </div>
  <div class="box" id="hover" data-index="">
    <div><b>hover</b> <span id="hname" class="muted">(move over a point)</span></div>
    <canvas id="himg" class="pix"></canvas> <canvas id="hrec" class="pix"></canvas>
    <div class="muted">image, reconstruction</div>
  </div>
  <div class="box" id="pick" data-a="" data-b="" data-landmark-a="" data-landmark-b="" data-cells="">
    <div><b>pick</b> <span id="pname" class="muted">(click two points)</span></div>
    <canvas id="line"></canvas>
    <div class="muted" id="pnote">decoded along the straight line between the two codes</div>
  </div>
</div>
<img id="sprite" alt="" style="display:none" src="__SPRITE__">
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const sprite = document.getElementById("sprite");
  const map = document.getElementById("map"), ctx = map.getContext("2d");
  const W = map.width, H = map.height, PAD = 16;
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
    "#c7c7c7", "#dbdb8d", "#9edae5"];
  const S = { zoom: 1, tx: 0, ty: 0, hover: -1, picks: [], matches: [], colourBy: null, drawn: 0 };
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < D.n; i++) {
    minX = Math.min(minX, D.x[i]); maxX = Math.max(maxX, D.x[i]);
    minY = Math.min(minY, D.y[i]); maxY = Math.max(maxY, D.y[i]);
  }
  const span = Math.max(maxX - minX, maxY - minY) || 1;
  const base = (W - 2 * PAD) / span;
  const ox = (W - (maxX - minX) * base) / 2, oy = (H + (maxY - minY) * base) / 2;  // centred, equal scales
  function screenPos(i) {
    const bx = ox + (D.x[i] - minX) * base, by = oy - (D.y[i] - minY) * base;
    return [bx * S.zoom + S.tx, by * S.zoom + S.ty];
  }
  const isLandmark = new Uint8Array(D.n);
  D.landmarks.forEach(i => { isLandmark[i] = 1; });

  const select = document.getElementById("colour");
  for (const key of ["cluster", "label"]) {
    if (D[key]) { const o = document.createElement("option"); o.value = o.textContent = key; select.appendChild(o); }
  }
  const none = document.createElement("option"); none.value = "none"; none.textContent = "none"; select.appendChild(none);
  S.colourBy = select.value;
  select.addEventListener("change", () => { S.colourBy = select.value; legend(); draw(); });
  document.getElementById("how").textContent =
    D.n.toLocaleString() + " points; map: " + D.how + "; " + D.landmarks.length + " landmarks (ringed)" +
    (D.marked.length ? "; " + D.marked.length + " images to label (magenta diamonds)" : "");
  const isMarked = new Uint8Array(D.n);
  D.marked.forEach(i => { isMarked[i] = 1; });

  function colourOf(i) {
    const v = S.colourBy === "none" ? null : D[S.colourBy][i];
    return v === null ? "#555" : PALETTE[((v % PALETTE.length) + PALETTE.length) % PALETTE.length];
  }
  function legend() {
    const el = document.getElementById("legend");
    el.innerHTML = "";
    if (S.colourBy === "none") return;
    const vals = Array.from(new Set(D[S.colourBy])).sort((a, b) => a - b);
    for (const v of vals.slice(0, 40)) {
      const s = document.createElement("span");
      const sw = document.createElement("i"); sw.style.background = PALETTE[v % PALETTE.length];
      s.appendChild(sw); s.appendChild(document.createTextNode(S.colourBy + " " + v)); el.appendChild(s);
    }
  }

  function draw() {
    ctx.clearRect(0, 0, W, H);
    const r = Math.max(1.5, Math.min(4, 1.5 * Math.sqrt(S.zoom)));
    // batch by colour: one fillStyle change per group keeps thousands of points cheap
    const groups = new Map();
    for (let i = 0; i < D.n; i++) {
      const c = colourOf(i);
      if (!groups.has(c)) groups.set(c, []);
      groups.get(c).push(i);
    }
    ctx.globalAlpha = S.matches.length ? 0.25 : 0.8;
    for (const [c, idx] of groups) {
      ctx.fillStyle = c;
      for (const i of idx) { const p = screenPos(i); ctx.fillRect(p[0] - r, p[1] - r, 2 * r, 2 * r); }
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#000"; ctx.lineWidth = 1;
    for (const i of D.landmarks) { const p = screenPos(i); ctx.beginPath(); ctx.arc(p[0], p[1], r + 3, 0, 6.3); ctx.stroke(); }
    ctx.fillStyle = "#e0f"; ctx.strokeStyle = "#000";
    for (const i of D.marked) {
      const p = screenPos(i); ctx.beginPath(); ctx.moveTo(p[0], p[1] - 7); ctx.lineTo(p[0] + 7, p[1]);
      ctx.lineTo(p[0], p[1] + 7); ctx.lineTo(p[0] - 7, p[1]); ctx.closePath(); ctx.fill(); ctx.stroke();
    }
    for (const i of S.matches) {
      const p = screenPos(i); ctx.fillStyle = colourOf(i); ctx.fillRect(p[0] - 4, p[1] - 4, 8, 8);
      ctx.strokeRect(p[0] - 4, p[1] - 4, 8, 8);
    }
    if (S.picks.length === 2) {
      const a = screenPos(S.picks[0]), b = screenPos(S.picks[1]);
      ctx.strokeStyle = "#d00"; ctx.setLineDash([4, 3]); ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]);
      ctx.stroke(); ctx.setLineDash([]);
    }
    S.picks.forEach((i, k) => {
      const p = screenPos(i); ctx.fillStyle = "#d00"; ctx.font = "bold 13px sans-serif";
      ctx.beginPath(); ctx.arc(p[0], p[1], 6, 0, 6.3); ctx.fill(); ctx.fillText(k ? "B" : "A", p[0] + 8, p[1] - 8);
    });
    if (S.hover >= 0) {
      const p = screenPos(S.hover); ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      ctx.strokeRect(p[0] - r - 3, p[1] - r - 3, 2 * r + 6, 2 * r + 6); ctx.lineWidth = 1;
    }
    S.drawn++;
  }

  function drawCell(target, cell, dx) {
    const w = D.cell.w, h = D.cell.h, col = cell % D.cell.cols, row = Math.floor(cell / D.cell.cols);
    target.getContext("2d").drawImage(sprite, col * w, row * h, w, h, dx, 0, w, h);
  }
  function sizeCanvas(c, cells) {
    c.width = D.cell.w * cells; c.height = D.cell.h;
    c.getContext("2d").imageSmoothingEnabled = false;
  }
  const himg = document.getElementById("himg"), hrec = document.getElementById("hrec");
  sizeCanvas(himg, 1); sizeCanvas(hrec, 1);
  function showHover(i) {
    S.hover = i;
    const box = document.getElementById("hover");
    box.dataset.index = i;
    box.dataset.cell = i;
    box.dataset.reconCell = D.reconOffset + i;
    let text = D.names[i];
    if (D.label) text += "  label " + D.label[i];
    if (D.cluster) text += "  cluster " + D.cluster[i];
    if (isMarked[i]) text += "  (to label)";
    document.getElementById("hname").textContent = text;
    drawCell(himg, i, 0);
    drawCell(hrec, D.reconOffset + i, 0);
  }

  const lineCanvas = document.getElementById("line");
  lineCanvas.style.display = "none";  // until two points are picked
  function showPick() {
    const box = document.getElementById("pick");
    const names = S.picks.map((i, k) => (k ? "B " : "A ") + D.names[i]);
    document.getElementById("pname").textContent = names.join(", ");
    box.dataset.a = S.picks.length > 0 ? S.picks[0] : "";
    box.dataset.b = S.picks.length > 1 ? S.picks[1] : "";
    box.dataset.landmarkA = box.dataset.landmarkB = box.dataset.cells = "";
    if (S.picks.length < 2) { lineCanvas.style.display = "none"; return; }
    const la = D.nearestLandmark[S.picks[0]], lb = D.nearestLandmark[S.picks[1]];
    const note = document.getElementById("pnote");
    box.dataset.landmarkA = D.landmarks[la]; box.dataset.landmarkB = D.landmarks[lb];
    if (la === lb) {
      lineCanvas.style.display = "none";
      note.textContent = "both picks are nearest to the same landmark (" + D.names[D.landmarks[la]] + "); pick farther apart";
      return;
    }
    const start = D.pairStart[Math.min(la, lb) + "," + Math.max(la, lb)];
    const cells = [];
    for (let s = 0; s < D.steps; s++) cells.push(start + (la < lb ? s : D.steps - 1 - s));
    sizeCanvas(lineCanvas, D.steps);
    lineCanvas.style.display = "";
    lineCanvas.getContext("2d").clearRect(0, 0, lineCanvas.width, lineCanvas.height);
    cells.forEach((c, k) => drawCell(lineCanvas, c, k * D.cell.w));
    box.dataset.cells = cells.join(",");
    const exact = D.landmarks[la] === S.picks[0] && D.landmarks[lb] === S.picks[1];
    note.textContent = "decoded along the straight line between the codes of " + D.names[D.landmarks[la]] + " and " +
      D.names[D.landmarks[lb]] + (exact ? "" : " (the landmarks nearest the picks in code space; lines are precomputed between landmarks)");
  }

  function nearest(mx, my, radius) {
    let best = -1, bd = radius * radius;
    for (let i = 0; i < D.n; i++) {
      const p = screenPos(i), dx = p[0] - mx, dy = p[1] - my, d = dx * dx + dy * dy;
      if (d < bd) { bd = d; best = i; }
    }
    return best;
  }
  function mouse(e) {  // canvas pixels under the pointer (the border is not part of the drawing)
    const r = map.getBoundingClientRect();
    return [(e.clientX - r.left - map.clientLeft) * W / map.clientWidth, (e.clientY - r.top - map.clientTop) * H / map.clientHeight];
  }
  let drag = null;
  map.addEventListener("mousedown", e => { const m = mouse(e); drag = { x: m[0], y: m[1], tx: S.tx, ty: S.ty, moved: false }; });
  map.addEventListener("mousemove", e => {
    const m = mouse(e);
    if (drag && (e.buttons & 1)) {
      if (Math.abs(m[0] - drag.x) + Math.abs(m[1] - drag.y) > 3) drag.moved = true;
      if (drag.moved) { S.tx = drag.tx + m[0] - drag.x; S.ty = drag.ty + m[1] - drag.y; draw(); return; }
    }
    const i = nearest(m[0], m[1], 12);
    if (i >= 0 && i !== S.hover) { showHover(i); draw(); }
  });
  map.addEventListener("mouseup", e => {
    const m = mouse(e), wasDrag = drag && drag.moved; drag = null;
    if (wasDrag) return;
    const i = nearest(m[0], m[1], 12);
    if (i < 0) return;
    pick(i);
  });
  function pick(i) {
    S.picks = S.picks.length >= 2 ? [i] : S.picks.concat([i]);
    showPick(); draw();
  }
  map.addEventListener("wheel", e => {
    e.preventDefault();
    const m = mouse(e), f = e.deltaY < 0 ? 1.2 : 1 / 1.2;
    S.tx = m[0] - (m[0] - S.tx) * f; S.ty = m[1] - (m[1] - S.ty) * f; S.zoom *= f; draw();
  }, { passive: false });
  document.addEventListener("keydown", e => {
    if (e.key === "Escape") { S.picks = []; S.matches = []; document.getElementById("search").value = ""; showPick(); draw(); }
  });
  const search = document.getElementById("search");
  search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    S.matches = [];
    if (q) for (let i = 0; i < D.n; i++) if (D.names[i].toLowerCase().includes(q)) S.matches.push(i);
    document.getElementById("found").textContent = q ? S.matches.length + " found" : "";
    if (S.matches.length) showHover(S.matches[0]);
    draw();
  });
  search.addEventListener("keydown", e => { if (e.key === "Enter" && S.matches.length) pick(S.matches[0]); });

  legend();
  window.explorer = { data: D, state: S, screenPos: screenPos, pick: pick, showHover: showHover, ready: false };
  function start() { draw(); window.explorer.ready = true; }
  if (sprite.complete && sprite.naturalWidth) start(); else sprite.addEventListener("load", start);
})();
</script>
</body>
</html>
"""
