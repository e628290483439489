// hpsearch dashboard: plain JavaScript, no build step, no network but this server.
// Every stored string reaches the page as text (textContent / text nodes), never as HTML.
"use strict";

const POLL_MS = 2000;
const PLOT_TITLES = {
  history: "History by trial", history_time: "History by time",
  param_scores: "Score against each parameter", heatmap: "Heatmap",
  parallel: "Parallel coordinates", importance: "Parameter importance",
  fit_times: "Fit time against score", rungs: "Halving rungs",
};

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, v));
    else if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
  }
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    throw new Error(detail || `${response.status} ${response.statusText}`);
  }
  return body;
}

// plotly.js (4 MB) loads after the page's data is shown, not before.
let plotlyLoaded = null;
function loadPlotly() {
  if (!plotlyLoaded) {
    plotlyLoaded = new Promise((resolve, reject) => {
      const script = el("script", { src: "/static/plotly.min.js" });
      script.addEventListener("load", resolve);
      script.addEventListener("error", () => reject(new Error("plotly.js did not load")));
      document.head.append(script);
    });
  }
  return plotlyLoaded;
}

function showError(id, error) {
  const node = document.getElementById(id);
  if (!node) return;
  node.hidden = !error;
  node.textContent = error ? String(error.message || error) : "";
}

function fmt(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e4 || Math.abs(value) < 1e-3 ? value.toExponential(3) : value.toFixed(4);
  }
  return String(value);
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

function studyLink(name) {
  return el("a", { href: "/study?name=" + encodeURIComponent(name) }, name);
}

async function storageLine() {
  try {
    const info = await api("/api/storage");
    document.getElementById("storage").textContent = info.url + " · read-only";
  } catch (error) { /* the page says what failed elsewhere */ }
}

// ---------------------------------------------------------------- studies list
function indexPage() {
  const selected = new Set();
  const button = document.getElementById("compare");
  button.addEventListener("click", () => {
    const url = new URL("/compare", window.location.origin);
    selected.forEach((name) => url.searchParams.append("study", name));
    window.location.href = url.toString();
  });
  async function refresh() {
    try {
      const studies = await api("/api/studies");
      const body = document.querySelector("#studies tbody");
      body.replaceChildren(...studies.map((s) => el("tr", { dataset: { study: s.name } },
        el("td", {}, el("input", {
          type: "checkbox", "aria-label": "compare",
          ...(selected.has(s.name) ? { checked: "" } : {}),
          onchange: (event) => {
            if (event.target.checked) selected.add(s.name); else selected.delete(s.name);
            button.disabled = selected.size < 2;
          },
        })),
        el("td", {}, studyLink(s.name)),
        el("td", {}, s.search),
        el("td", {}, el("span", { class: "badge " + s.status }, s.status)),
        el("td", { class: "num" }, `${s.done} / ${s.total}`),
        el("td", { class: "num" }, s.failed),
        el("td", { class: "num" }, fmt(s.best_score)),
        el("td", {}, when(s.created_at)),
        el("td", {}, when(s.updated_at)),
      )));
      document.getElementById("empty").hidden = studies.length > 0;
      document.body.dataset.loaded = "yes";
      showError("error", null);
    } catch (error) {
      showError("error", error);
    }
  }
  storageLine();
  refresh();
  setInterval(refresh, POLL_MS);
}

// ---------------------------------------------------------------- one study
function studyPage() {
  const name = new URLSearchParams(window.location.search).get("name") || "";
  document.title = name + " · hpsearch dashboard";
  const state = { sort: null, order: "asc", q: "", status: "", offset: 0, limit: 50 };
  let version = null;
  let detail = null;

  function renderDetail(d) {
    document.getElementById("name").textContent = d.name;
    const badge = document.getElementById("status");
    badge.textContent = d.status;
    badge.className = "badge " + d.status;
    const share = d.total ? (100 * d.done) / d.total : 0;
    document.getElementById("bar").style.width = share.toFixed(1) + "%";
    document.getElementById("progress").textContent =
      `${d.done} of ${d.total} fits done (${share.toFixed(1)}%), ${d.failed} failed, ` +
      `${d.candidates} complete candidates` + (d.running ? `, ${d.running} search process(es) running` : "");
    const facts = [["search", d.search], ["metric", d.metric], ["best score", fmt(d.best_score)],
      ["created", when(d.created_at)], ["updated", when(d.updated_at)]];
    document.getElementById("facts").replaceChildren(
      ...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    const best = Object.entries(d.best_params || {});
    document.querySelector("#best tbody").replaceChildren(
      ...(best.length ? best.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))
        : [el("tr", {}, el("td", {}, "no complete candidate yet"))]));
    document.getElementById("spec").textContent = JSON.stringify(d.spec, null, 2);
  }

  function axisSelects(d) {
    const box = document.getElementById("heatmap-axes");
    if (!d.plots.includes("heatmap")) { box.hidden = true; return; }
    const hx = document.getElementById("hx");
    const hy = document.getElementById("hy");
    if (hx.options.length !== d.params.length) {
      for (const [select, index] of [[hx, 0], [hy, 1]]) {
        select.replaceChildren(...d.params.map((p) => el("option", { value: p }, p)));
        select.selectedIndex = index;
        select.onchange = () => drawPlot("heatmap");
      }
    }
    box.hidden = false;
  }

  async function drawPlot(kind) {
    const div = document.getElementById("plot-" + kind);
    if (!div) return;
    const params = { study: name, kind };
    if (kind === "heatmap") {
      params.x = document.getElementById("hx").value;
      params.y = document.getElementById("hy").value;
      if (params.x === params.y) {
        div.replaceChildren(el("p", { class: "note muted" }, "Pick two different parameters."));
        return;
      }
    }
    try {
      await loadPlotly();
      const figure = await api("/api/plot", params);
      if (div.querySelector(".note")) div.replaceChildren();
      figure.layout.autosize = true;
      await Plotly.react(div, figure.data, figure.layout, { responsive: true, displaylogo: false });
      div.dataset.rendered = version;
    } catch (error) {
      div.replaceChildren(el("p", { class: "note muted" }, PLOT_TITLES[kind] + ": " + error.message));
      div.dataset.rendered = version;
    }
  }

  async function drawPlots(d) {
    const box = document.getElementById("plots");
    const have = Array.from(box.children).map((c) => c.dataset.kind).join();
    if (have !== d.plots.join()) {
      box.replaceChildren(...d.plots.map((kind) =>
        el("div", { class: "plot", id: "plot-" + kind, dataset: { kind } })));
    }
    axisSelects(d);
    for (const kind of d.plots) await drawPlot(kind);
  }

  function fetchTrials() {
    return api("/api/trials", {
      study: name, sort: state.sort, order: state.order, q: state.q,
      status: state.status, offset: state.offset, limit: state.limit,
    });
  }

  async function loadTrials() {
    try {
      const result = await fetchTrials();
      showError("qerror", null);
      renderTrials(result);
    } catch (error) {
      showError("qerror", error);
    }
  }

  function renderTrials(result) {
    const table = document.getElementById("trials");
    const head = el("tr", {}, ...result.columns.map((column) => {
      const sorted = state.sort === column ? " sorted-" + state.order : "";
      return el("th", {
        class: "sortable" + sorted, dataset: { column },
        onclick: () => {
          if (state.sort === column) state.order = state.order === "asc" ? "desc" : "asc";
          else { state.sort = column; state.order = "asc"; }
          state.offset = 0;
          loadTrials();
        },
      }, column);
    }));
    table.tHead.replaceChildren(head);
    table.tBodies[0].replaceChildren(...result.rows.map((row) => el("tr", {},
      ...result.columns.map((column) => {
        const value = row[column];
        return el("td", { class: typeof value === "number" ? "num" : "" }, fmt(value));
      }))));
    const last = Math.min(result.offset + result.rows.length, result.total);
    document.getElementById("range").textContent = result.total
      ? `rows ${result.offset + 1}-${last} of ${result.total}` : "no matching rows";
    document.getElementById("prev").disabled = result.offset === 0;
    document.getElementById("next").disabled = last >= result.total;
    table.dataset.total = result.total;
    table.dataset.query = JSON.stringify(state);
  }

  function renderFailures(result) {
    document.getElementById("nfailed").textContent = `(${result.total})`;
    document.getElementById("failures").replaceChildren(...(result.rows.length
      ? result.rows.map((f) => el("div", { class: "failure" },
        el("div", {}, `candidate ${f.candidate}, split ${f.split}: `, el("code", {}, f.params)),
        el("pre", {}, f.error)))
      : [el("p", { class: "muted" }, "No failed fit.")]));
  }

  async function refresh() {
    try {
      const d = await api("/api/study", { name });
      showError("error", null);
      if (d.version === version) return;
      // Everything is fetched first and shown at once, so that the progress,
      // the trial table and the failures never show two different reads.
      const [trials, failures] = await Promise.all([
        fetchTrials().then((r) => ({ r }), (e) => ({ e })),
        api("/api/failures", { study: name, limit: 50 }),
      ]);
      version = d.version;
      detail = d;
      renderDetail(d);
      if (trials.e) showError("qerror", trials.e);
      else { showError("qerror", null); renderTrials(trials.r); }
      renderFailures(failures);
      document.body.dataset.version = version;
      // Milliseconds from the navigation to the data shown, then to the plots.
      if (!document.body.dataset.shownMs) document.body.dataset.shownMs = Math.round(performance.now());
      await drawPlots(d);
      document.body.dataset.plotted = version;
      if (!document.body.dataset.plottedMs) document.body.dataset.plottedMs = Math.round(performance.now());
    } catch (error) {
      showError("error", error);
    }
  }

  let typing = null;
  document.getElementById("q").addEventListener("input", (event) => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.q = event.target.value; state.offset = 0; loadTrials(); }, 250);
  });
  document.getElementById("fstatus").addEventListener("change", (event) => {
    state.status = event.target.value; state.offset = 0; loadTrials();
  });
  document.getElementById("limit").addEventListener("change", (event) => {
    state.limit = Number(event.target.value); state.offset = 0; loadTrials();
  });
  document.getElementById("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - state.limit); loadTrials();
  });
  document.getElementById("next").addEventListener("click", () => {
    state.offset += state.limit; loadTrials();
  });
  storageLine();
  let busy = false;
  async function tick() {
    if (busy) return;
    busy = true;
    try { await refresh(); } finally { busy = false; }
  }
  tick();
  setInterval(tick, POLL_MS);
  return detail;
}

// ---------------------------------------------------------------- comparison
function comparePage() {
  const names = new URLSearchParams(window.location.search).getAll("study");
  let version = null;
  async function refresh() {
    try {
      const result = await api("/api/compare", { study: names });
      showError("error", null);
      const now = result.studies.map((s) => s.version).join();
      if (now === version) return;
      version = now;
      document.getElementById("space").textContent = result.same_space
        ? "The studies search the same parameters."
        : "The studies search different parameters: compare with care.";
      document.querySelector("#side tbody").replaceChildren(...result.studies.map((s) =>
        el("tr", {}, el("td", {}, studyLink(s.name)), el("td", {}, s.search),
          el("td", {}, el("span", { class: "badge " + s.status }, s.status)),
          el("td", { class: "num" }, `${s.done} / ${s.total}`),
          el("td", { class: "num" }, fmt(s.best_score)),
          el("td", {}, (result.params[s.name] || []).join(", ")))));
      const div = document.getElementById("compare-plot");
      await loadPlotly();
      await Plotly.react(div, result.figure.data, result.figure.layout,
        { responsive: true, displaylogo: false });
      document.body.dataset.plotted = version;
    } catch (error) {
      showError("error", error);
    }
  }
  storageLine();
  refresh();
  setInterval(refresh, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "index") indexPage();
  else if (page === "study") studyPage();
  else if (page === "compare") comparePage();
});
