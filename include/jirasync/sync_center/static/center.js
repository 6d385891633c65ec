// The Sync Center page: reads the JSON API next to it, starts runs through Airflow's REST API
// with the logged-in user's cookie, and follows the Airflow UI's light or dark mode.
"use strict";

const AIRFLOW = new URL("..", location.href); // the page is served at <airflow>/jirasync/
const CHANGE_KINDS = ["created", "updated", "linked", "unlinked", "deleted", "cleared"];
const state = { syncs: [], sync: null, tab: "runs", runs: [], run: null, loads: 0 };

// ---- theme ------------------------------------------------------------------------------------

function airflowTheme() {
  try {
    const classes = window.parent.document.documentElement.classList;
    if (classes.contains("dark")) return "dark";
    if (classes.contains("light")) return "light";
  } catch (error) { /* not framed by Airflow */ }
  const stored = localStorage.getItem("theme");
  if (stored === "dark" || stored === "light") return stored;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function followTheme() {
  const apply = () => { document.documentElement.dataset.theme = airflowTheme(); };
  apply();
  try {
    new MutationObserver(apply).observe(window.parent.document.documentElement, { attributes: true });
  } catch (error) { /* not framed by Airflow */ }
  addEventListener("storage", apply);
}

// ---- small DOM builders (text only: values never become markup) -------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "onclick") node.addEventListener("click", value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// A long error shows its first lines; a click shows it whole.
function errorText(text) {
  return el("span", { class: "error-text clamp", title: "Click to show it whole", onclick: (event) => {
    event.currentTarget.classList.toggle("clamp");
  } }, text);
}

function badge(text, kind) { return el("span", { class: `badge ${kind || text}` }, text); }

function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

function table(node, headers, rows, emptyText) {
  node.replaceChildren();
  if (!rows.length) {
    node.append(el("tbody", {}, el("tr", {}, el("td", { class: "empty", colspan: headers.length }, emptyText))));
    return;
  }
  node.append(el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))));
  node.append(el("tbody", {}, rows));
}

function cell(content, className) { return el("td", className ? { class: className } : {}, content ?? "—"); }

function notice(content, failed = false) {
  const box = document.getElementById("notice");
  box.replaceChildren(content);
  box.className = failed ? "failed" : "";
  box.hidden = false;
}

// ---- requests ---------------------------------------------------------------------------------

async function request(url, options = {}) {
  const response = await fetch(url, { credentials: "same-origin", ...options });
  if (response.status === 401) {
    location.reload(); // the page itself sends the browser to Airflow's login
    throw new Error("not logged in");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

const api = (path) => request(new URL(`api/${path}`, location.href));
const syncPath = (path) => `syncs/${encodeURIComponent(state.sync.sync)}/${path}`;

// ---- the syncs and their health ---------------------------------------------------------------

async function loadSyncs() {
  const body = await api("syncs");
  state.syncs = body.syncs;
  document.getElementById("who").textContent = `signed in as ${body.user}`;
  const errors = document.getElementById("definition-errors");
  errors.hidden = !body.definition_errors.length;
  errors.textContent = body.definition_errors.length
    ? `${body.definition_errors.length} definition(s) cannot be loaded and are not shown: ${body.definition_errors.join("; ")}`
    : "";
  const wanted = new URLSearchParams(location.hash.slice(1)).get("sync");
  const current = state.sync && state.syncs.find((s) => s.sync === state.sync.sync);
  state.sync = current || state.syncs.find((s) => s.sync === wanted) || state.syncs[0] || null;
  renderHealth();
}

function renderHealth() {
  const rows = state.syncs.map((sync) => {
    const failure = sync.last_failure;
    return el("tr", { class: sync === state.sync ? "selected" : null, "data-sync": sync.sync },
      cell([el("button", { type: "button", class: "link", onclick: () => select(sync.sync) }, sync.sync), el("br"),
        el("span", { class: "muted small" }, `${sync.source} → ${sync.target}`)]),
      cell(badge(sync.health, sync.health.split(" ")[0])),
      cell(sync.last_run ? [when(sync.last_run.started_at), el("br"), badge(sync.last_run.status),
        sync.last_run.dry_run ? [" ", badge("dry run", "dry")] : null] : "never run", "when"),
      cell(sync.last_success ? when(sync.last_success.ended_at || sync.last_success.started_at) : "—", "when"),
      cell(failure ? [when(failure.ended_at || failure.started_at), el("br"),
        errorText(failure.error || failure.status)] : "—", "why"),
      cell(sync.pending, "num"),
      cell(sync.conflicts, "num"),
      cell(sync.links, "num"),
      cell(el("div", { class: "actions" },
        el("button", { type: "button", onclick: () => confirmRun(sync, "dry run", { dry_run: true }) }, "Dry run"),
        el("button", { type: "button", onclick: () => confirmRun(sync, "full sync", { full_sync: true }) }, "Full sync"))));
  });
  table(document.getElementById("health"),
    ["Sync", "Health", "Last run", "Last success", "Last failure", "Pending", "Conflicts", "Links", "Start"],
    rows, "No sync definitions found.");
}

function select(syncId, tab) {
  state.sync = state.syncs.find((s) => s.sync === syncId) || null;
  state.runs = [];
  state.run = null;
  renderHealth();
  showTab(tab || state.tab);
}

// ---- the selected sync's panels ---------------------------------------------------------------

function showTab(tab) {
  state.tab = tab;
  const detail = document.getElementById("detail");
  detail.hidden = !state.sync;
  if (!state.sync) return;
  history.replaceState(null, "", `#sync=${encodeURIComponent(state.sync.sync)}&tab=${tab}`);
  document.getElementById("detail-title").textContent = `${state.sync.sync} (${state.sync.family})`;
  for (const button of document.querySelectorAll("[role=tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.hidden = panel.id !== `panel-${tab}`;
  const loaders = { runs: loadRuns, changes: loadChanges, pending: loadPending, conflicts: loadConflicts, links: loadLinks };
  const panel = document.getElementById(`panel-${tab}`);
  const load = ++state.loads; // only the latest load marks the panel as ready
  panel.setAttribute("aria-busy", "true");
  loaders[tab]()
    .catch((error) => notice(String(error.message), true))
    .finally(() => { if (load === state.loads) panel.removeAttribute("aria-busy"); });
}

async function loadRuns() {
  state.runs = await api(syncPath("runs"));
  renderChart(state.runs);
  const rows = state.runs.map((run) => el("tr", { "data-run": run.run_id },
    cell(when(run.started_at), "when"),
    cell([badge(run.status), run.dry_run ? [" ", badge("dry run", "dry")] : null]),
    ...CHANGE_KINDS.map((kind) => cell(run[kind] ?? "—", "num")),
    cell(run.failed ?? "—", "num"),
    cell(run.conflicts ?? "—", "num"),
    cell(run.error ? errorText(run.error) : "—", "why"),
    cell(el("div", { class: "actions" },
      el("button", { type: "button", onclick: () => { state.run = run.run_id; showTab("changes"); } }, "Changes"),
      run.airflow_run_id ? el("a", { href: airflowRunUrl(run.airflow_run_id), target: "_top" }, "In Airflow") : null,
      !run.dry_run && ["success", "partial"].includes(run.status)
        ? el("button", { type: "button", onclick: () => confirmRun(state.sync, "revert",
          { revert_run: run.run_id },
          `Put back what run ${run.run_id} changed: fields to their values before it, records it created deleted.`) }, "Revert")
        : null))));
  table(document.getElementById("runs"),
    ["Started", "Status", ...CHANGE_KINDS, "failed", "conflicts", "Error", ""], rows, "No runs yet.");
}

function renderChart(runs) {
  const figure = document.getElementById("chart");
  figure.replaceChildren();
  const shown = runs.slice(0, 30).reverse(); // oldest on the left
  if (!shown.length) return;
  const totals = shown.map((run) => CHANGE_KINDS.reduce((sum, kind) => sum + (run[kind] || 0), 0));
  const top = Math.max(1, ...totals);
  const width = 900, height = 160, left = 40, bottom = 24, slot = (width - left) / Math.max(shown.length, 20);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Changes per run");
  const add = (tag, attributes, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  const plot = height - bottom - 10;
  add("line", { class: "axis", x1: left, x2: width, y1: height - bottom, y2: height - bottom });
  add("text", { x: left - 6, y: 14, "text-anchor": "end" }, String(top));
  add("text", { x: left - 6, y: height - bottom, "text-anchor": "end" }, "0");
  shown.forEach((run, index) => {
    const failed = ["failed", "partial", "abandoned"].includes(run.status);
    const barHeight = Math.max(totals[index] || failed ? 4 : 0, (totals[index] / top) * plot); // a failure shows
    const x = left + index * slot + slot * 0.15;
    const bar = add("rect", {
      class: `bar${failed ? " failed" : ""}${run.dry_run ? " dry" : ""}`,
      x, y: height - bottom - barHeight, width: slot * 0.7, height: barHeight, "data-run": run.run_id,
    });
    const title = document.createElementNS(ns, "title");
    title.textContent = `${when(run.started_at)}: ${totals[index]} change(s), ${run.status}${run.dry_run ? " (dry run)" : ""}`;
    bar.append(title);
    if (index % Math.ceil(64 / slot) === 0) { // a label every 64 units at least, so they never overlap
      add("text", { x: x + slot * 0.35, y: height - 8, "text-anchor": "middle" }, when(run.started_at).slice(5, 16));
    }
  });
  figure.append(svg, el("figcaption", {}, "Changes per run (created, updated, linked, unlinked, deleted, cleared); red: failed, dashed: dry run."));
}

async function loadChanges() {
  if (!state.runs.length) state.runs = await api(syncPath("runs"));
  const form = document.getElementById("change-filters");
  const runs = form.elements.run;
  runs.replaceChildren(...state.runs.map((run) => el("option", { value: run.run_id },
    `${when(run.started_at)} · ${run.status}${run.dry_run ? " · dry run" : ""} · ${run.run_id}`)));
  const withLedger = state.runs.find((run) => !run.dry_run);
  state.run = state.run || (withLedger || state.runs[0] || {}).run_id || null;
  runs.value = state.run || "";
  await renderChanges();
}

async function renderChanges() {
  const form = document.getElementById("change-filters");
  const node = document.getElementById("changes");
  if (!state.run) {
    table(node, [], [], "No runs yet.");
    document.getElementById("changes-count").textContent = "";
    return;
  }
  const query = new URLSearchParams({
    kind: form.elements.kind.value, outcome: form.elements.outcome.value, key: form.elements.key.value.trim(),
  });
  const body = await api(`${syncPath(`runs/${encodeURIComponent(state.run)}/changes`)}?${query}`);
  document.getElementById("changes-count").textContent = body.total > body.rows.length
    ? `${body.total} change(s); the first ${body.rows.length} shown` : `${body.total} change(s)`;
  const rows = body.rows.map((change) => el("tr", {},
    cell(change.key),
    cell(change.kind),
    cell(change.field),
    cell(change.before, "value"),
    cell(change.after, "value"),
    cell(change.direction === "to_source" ? "→ source" : change.direction === "to_target" ? "→ target" : "—"),
    cell(badge(change.outcome)),
    cell(change.error || change.reason, "why")));
  const empty = state.runs.find((run) => run.run_id === state.run)?.dry_run
    ? "A dry run writes nothing, so it has no changes recorded." : "No change matches.";
  table(node, ["Key", "Kind", "Field", "Before", "After", "Direction", "Outcome", "Error or reason"], rows, empty);
}

async function loadPending() {
  const records = await api(syncPath("pending"));
  const rows = records.map((record) => el("tr", {},
    cell(record.key), cell(record.attempts, "num"), cell(record.kinds.join(", ")),
    cell(record.fields.join(", ") || "—"), cell(el("span", { class: "error-text" }, record.last_error || "—"), "why"),
    cell(when(record.updated_at), "when")));
  table(document.getElementById("pending"),
    ["Key", "Attempts", "Change", "Fields", "Why it failed", "Last tried"], rows, "Nothing waits for a retry.");
}

async function loadConflicts() {
  const conflicts = await api(syncPath("conflicts"));
  const rows = conflicts.map((conflict) => el("tr", { "data-key": conflict.key, "data-field": conflict.field },
    cell(conflict.key),
    cell(conflict.field),
    cell(conflict.after, "value"),
    cell(conflict.before, "value"),
    cell(conflict.take
      ? [badge(`take ${conflict.take}`, "ok"), el("br"),
        el("span", { class: "muted" }, `by ${conflict.decided_by}; the next run applies it`)]
      : badge("waiting", "held")),
    cell(el("div", { class: "actions" },
      el("button", { type: "button", onclick: () => decide(conflict, "source") }, "Take source"),
      el("button", { type: "button", onclick: () => decide(conflict, "target") }, "Take target")))));
  table(document.getElementById("conflicts"),
    ["Key", "Field", `Source (${state.sync.source})`, `Target (${state.sync.target})`, "Decision", ""],
    rows, "No conflict waits for a decision.");
}

async function decide(conflict, take) {
  try {
    await request(new URL(`api/${syncPath("decisions")}`, location.href), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ source_id: conflict.source_id, field: conflict.field, take }),
    });
    notice(`${conflict.key} · ${conflict.field}: the ${take}'s value is kept; the next run of ${state.sync.sync} writes it.`);
    await loadConflicts();
  } catch (error) {
    notice(`The decision was not recorded: ${error.message}`, true);
  }
}

async function loadLinks() {
  const search = document.getElementById("link-filters").elements.search.value.trim();
  const body = await api(`${syncPath("links")}?${new URLSearchParams({ search })}`);
  document.getElementById("links-count").textContent = body.total > body.rows.length
    ? `${body.total} link(s); the first ${body.rows.length} shown` : `${body.total} link(s)`;
  const rows = body.rows.map((link) => el("tr", {},
    cell(link.key), cell(link.source_id, "value"), cell(link.target_id, "value"), cell(link.origin),
    cell(when(link.updated_at), "when")));
  table(document.getElementById("links"),
    ["Key", `Source id (${state.sync.source})`, `Target id (${state.sync.target})`, "Origin", "Updated"],
    rows, search ? "No link matches." : "No links yet.");
}

// ---- starting runs through Airflow's REST API -------------------------------------------------

function airflowRunUrl(runId) {
  return new URL(`dags/${encodeURIComponent(state.sync.dag_id)}/runs/${encodeURIComponent(runId)}`, AIRFLOW);
}

function confirmRun(sync, what, conf, detail) {
  const dialog = document.getElementById("confirm");
  const override = dialog.querySelector("input[name=override]");
  document.getElementById("confirm-title").textContent = `Start a ${what} of ${sync.sync}?`;
  document.getElementById("confirm-text").textContent = detail || (conf.dry_run
    ? "Plans and checks, and writes nothing. The plan is in the log of the plan task."
    : "Reads everything on both sides and writes what differs, as the scheduled runs do.");
  override.checked = false;
  override.closest("label").hidden = Boolean(conf.dry_run);
  dialog.onclose = () => {
    if (dialog.returnValue !== "start") return;
    startRun(sync, what, override.checked ? { ...conf, override_circuit_breaker: true } : conf);
  };
  dialog.returnValue = "";
  dialog.showModal();
}

async function startRun(sync, what, conf) {
  const dag = new URL(`api/v2/dags/${encodeURIComponent(sync.dag_id)}`, AIRFLOW);
  try {
    const details = await request(dag);
    if (details.is_paused) { // as Airflow's own Trigger form does: a paused Dag would never run it
      await request(dag, {
        method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ is_paused: false }),
      });
    }
    const run = await request(new URL(`${dag}/dagRuns`), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ logical_date: null, conf }),
    });
    const link = el("a", { href: new URL(`dags/${encodeURIComponent(sync.dag_id)}/runs/${encodeURIComponent(run.dag_run_id)}`, AIRFLOW), target: "_top" }, run.dag_run_id);
    notice(el("span", {}, `Started a ${what} of ${sync.sync}${details.is_paused ? " (its Dag was paused and is now on)" : ""}: `, link));
  } catch (error) {
    notice(`The ${what} of ${sync.sync} did not start: ${error.message}`, true);
  }
}

// ---- wiring -----------------------------------------------------------------------------------

function debounce(action, wait = 300) {
  let timer;
  return () => { clearTimeout(timer); timer = setTimeout(action, wait); };
}

async function refresh() {
  try {
    await loadSyncs();
    const tab = new URLSearchParams(location.hash.slice(1)).get("tab");
    showTab(tab && document.getElementById(`panel-${tab}`) ? tab : state.tab);
  } catch (error) {
    notice(String(error.message), true);
  }
}

followTheme();
document.getElementById("refresh").addEventListener("click", refresh);
for (const button of document.querySelectorAll("[role=tab]")) {
  button.addEventListener("click", () => showTab(button.dataset.tab));
}
const changeFilters = document.getElementById("change-filters");
changeFilters.addEventListener("submit", (event) => event.preventDefault());
changeFilters.addEventListener("change", (event) => {
  if (event.target.name === "run") state.run = event.target.value;
  renderChanges().catch((error) => notice(error.message, true));
});
changeFilters.elements.key.addEventListener("input", debounce(() => renderChanges().catch((error) => notice(error.message, true))));
const linkFilters = document.getElementById("link-filters");
linkFilters.addEventListener("submit", (event) => event.preventDefault());
linkFilters.elements.search.addEventListener("input", debounce(() => loadLinks().catch((error) => notice(error.message, true))));
refresh();
