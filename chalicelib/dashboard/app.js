/* Prachar's dashboard: sign in with the campaign's Cognito pool, then read /api/overview every 30 s.
   Every text from the server goes in with textContent, never as HTML. */
"use strict";

const T = {
  en: {
    other_language: "हिन्दी", sign_in: "Sign in", sign_out: "Sign out", member_id: "Member id", password: "Password",
    new_password: "Choose a new password (10+ characters, letters and digits)", updated: "Updated", scope: "Scope",
    kill_switch: "Kill switch", paused: "Paused", running: "Publishing is running", by: "by",
    silences: "Election silence", before: "starts in", silent: "silent, poll closes in", closed: "poll closed",
    next_days: "Today and the next 7 days", coverage: "Coverage until polling",
    coverage_hint: "Live posts due per team and day. A red cell is a day with nothing scheduled.",
    approvals: "Waiting for approval", none_waiting: "Nothing waits for approval.", approve: "Approve",
    reject: "Reject", reason: "Reason", need_reason: "Say why you reject it.", not_yours: "Not yours to decide",
    accounts: "Unhealthy and throttled accounts", all_healthy: "Every account is healthy.",
    failures: "Failures", no_failures: "No failures.", charts: "Charts",
    per_constituency: "Posts per day, per scope", per_platform: "Posts per day, per platform",
    per_member: "Uploads in the last 7 days, per member", no_uploads: "No uploads in the last 7 days.",
    date: "Date", team: "Team", scheduled: "Scheduled", published: "Published", failed: "Failed", held: "Held",
    waiting_approval: "Waiting for approval", stopped: "Stopped", account: "Account", reason_col: "Reason",
    due: "Due", title: "Title", gap: "none", poll: "poll", signed_out: "Your session ended: sign in again.",
    bad_sign_in: "Member id or password is wrong.", approved: "Approved", rejected: "Rejected",
    until: "until", engagement: "Engagement, last 7 days", no_engagement: "No numbers collected yet.",
    posts: "Posts", platform: "Platform", broadcasts: "Broadcasts to subscribers, last 7 days",
    no_broadcasts: "No broadcasts.", contacts: "Contacts", sent: "Sent", delivered: "Delivered", read: "Read",
    waiting: "Waiting", skipped: "Stopped since", began: "Began",
  },
  hi: {
    other_language: "English", sign_in: "साइन इन", sign_out: "साइन आउट", member_id: "सदस्य आईडी", password: "पासवर्ड",
    new_password: "नया पासवर्ड चुनें (10+ अक्षर, अक्षर और अंक)", updated: "अद्यतन", scope: "क्षेत्र",
    kill_switch: "किल स्विच", paused: "रुका हुआ", running: "प्रकाशन चालू है", by: "द्वारा",
    silences: "चुनावी मौन", before: "शुरू होने में", silent: "मौन, मतदान समाप्ति में", closed: "मतदान समाप्त",
    next_days: "आज और अगले 7 दिन", coverage: "मतदान तक कवरेज",
    coverage_hint: "हर टीम और दिन की निर्धारित पोस्ट। लाल खाना: उस दिन कुछ भी निर्धारित नहीं।",
    approvals: "स्वीकृति की प्रतीक्षा", none_waiting: "कुछ भी स्वीकृति की प्रतीक्षा में नहीं।", approve: "स्वीकृत करें",
    reject: "अस्वीकार करें", reason: "कारण", need_reason: "अस्वीकार करने का कारण लिखें।", not_yours: "आपका निर्णय नहीं",
    accounts: "अस्वस्थ और सीमित खाते", all_healthy: "सभी खाते ठीक हैं।",
    failures: "विफलताएँ", no_failures: "कोई विफलता नहीं।", charts: "चार्ट",
    per_constituency: "प्रतिदिन पोस्ट, क्षेत्र अनुसार", per_platform: "प्रतिदिन पोस्ट, प्लेटफ़ॉर्म अनुसार",
    per_member: "पिछले 7 दिनों में अपलोड, सदस्य अनुसार", no_uploads: "पिछले 7 दिनों में कोई अपलोड नहीं।",
    date: "तारीख", team: "टीम", scheduled: "निर्धारित", published: "प्रकाशित", failed: "विफल", held: "रोकी गई",
    waiting_approval: "स्वीकृति बाकी", stopped: "बंद", account: "खाता", reason_col: "कारण",
    due: "समय", title: "शीर्षक", gap: "खाली", poll: "मतदान", signed_out: "सत्र समाप्त: फिर से साइन इन करें।",
    bad_sign_in: "सदस्य आईडी या पासवर्ड गलत है।", approved: "स्वीकृत", rejected: "अस्वीकृत",
    until: "तक", engagement: "जुड़ाव, पिछले 7 दिन", no_engagement: "अभी कोई आँकड़े नहीं।",
    posts: "पोस्ट", platform: "प्लेटफ़ॉर्म", broadcasts: "सदस्यों को प्रसारण, पिछले 7 दिन",
    no_broadcasts: "कोई प्रसारण नहीं।", contacts: "संपर्क", sent: "भेजे", delivered: "पहुँचे", read: "पढ़े",
    waiting: "बाकी", skipped: "बाद में रोका", began: "शुरू",
  },
};
const COLUMNS = ["scheduled", "published", "failed", "held", "waiting_approval", "stopped"];
const COLOURS = ["#e85d04", "#1d4ed8", "#1b7f3b", "#7c3aed", "#b3261e", "#0e7490", "#a16207", "#be185d"];
const REFRESH_MS = 30000;

let lang = localStorage.getItem("prachar.lang") || ((navigator.language || "").startsWith("hi") ? "hi" : "en");
let token = sessionStorage.getItem("prachar.token");
let refresh = sessionStorage.getItem("prachar.refresh");   // renews the hour-long ID token without a password
let identity = null;
let last = null;          // the last overview, and when it came (for the countdowns)
let lastAt = 0;
let challenge = null;     // a first sign-in's NEW_PASSWORD_REQUIRED session
const charts = [];

const $ = (selector) => document.querySelector(selector);
const t = (key) => (T[lang] && T[lang][key]) || T.en[key] || key;

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function table(headers, rows, numeric) {
  const head = el("tr", {}, ...headers.map((h, i) => el("th", { class: numeric && i > 0 ? "num" : null }, h)));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
}

function translate() {
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
}

function when(iso) {
  return new Date(iso).toLocaleString(lang === "hi" ? "hi-IN" : "en-IN",
    { timeZone: "Asia/Kolkata", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

function duration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
  return (d ? `${d}d ` : "") + `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

// ---- signing in: Cognito's own API, straight from the browser (no password passes through Prachar) ----------
async function cognito(target, body) {
  const answer = await fetch(identity.endpoint, {
    method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}` },
  });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(data.message || data.__type || `HTTP ${answer.status}`);
  return data;
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target, error = $("#sign-in-error");
  error.textContent = "";
  try {
    let answer;
    if (challenge) {
      answer = await cognito("RespondToAuthChallenge", {
        ClientId: identity.client_id, ChallengeName: "NEW_PASSWORD_REQUIRED", Session: challenge,
        ChallengeResponses: { USERNAME: form.member.value.trim(), NEW_PASSWORD: form.new_password.value } });
    } else {
      answer = await cognito("InitiateAuth", {
        ClientId: identity.client_id, AuthFlow: "USER_PASSWORD_AUTH",
        AuthParameters: { USERNAME: form.member.value.trim(), PASSWORD: form.password.value } });
    }
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      challenge = answer.Session;
      $("#new-password-row").hidden = false;
      form.new_password.required = true;
      return;
    }
    keep(answer.AuthenticationResult);
    challenge = null;
    form.reset();
    await load();
  } catch (problem) {
    error.textContent = challenge ? problem.message : t("bad_sign_in");
  }
}

function keep(result) {
  token = result.IdToken;
  sessionStorage.setItem("prachar.token", token);
  if (result.RefreshToken) {
    refresh = result.RefreshToken;
    sessionStorage.setItem("prachar.refresh", refresh);
  }
}

async function renew() {
  if (!refresh) return false;
  try {
    const answer = await cognito("InitiateAuth", { ClientId: identity.client_id, AuthFlow: "REFRESH_TOKEN_AUTH",
                                                   AuthParameters: { REFRESH_TOKEN: refresh } });
    keep(answer.AuthenticationResult);
    return true;
  } catch (problem) {
    return false;
  }
}

function signOut(message) {
  token = null;
  refresh = null;
  sessionStorage.removeItem("prachar.token");
  sessionStorage.removeItem("prachar.refresh");
  $("#board").hidden = true;
  $("#sign-out").hidden = true;
  $("#who").textContent = "";
  $("#sign-in").hidden = false;
  $("#sign-in-error").textContent = message || "";
}

// ---- the API --------------------------------------------------------------------------------------------------
async function api(path, options, renewed) {
  const answer = await fetch(`api/${path}`, {
    ...options, headers: { Authorization: token, "Content-Type": "application/json" } });
  if (answer.status === 401 && !renewed && await renew()) return api(path, options, true);
  if (answer.status === 401) {
    signOut(t("signed_out"));
    throw new Error(t("signed_out"));
  }
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(data.Message || data.message || `HTTP ${answer.status}`);
  return data;
}

async function load() {
  if (!token) return signOut();
  const scope = $("#scope").value;
  try {
    last = await api(`overview${scope ? `?scope=${encodeURIComponent(scope)}` : ""}`);
    lastAt = Date.now();
    $("#board-error").textContent = "";
    render(last);
  } catch (problem) {
    $("#board-error").textContent = problem.message;
  }
}

async function decide(item, verb, reason) {
  const body = verb === "approve" ? { revision: item.revision } : { reason };
  await api(`posts/${encodeURIComponent(item.id)}/${verb}`, { method: "POST", body: JSON.stringify(body) });
}

// ---- rendering --------------------------------------------------------------------------------------------------
function render(data) {
  $("#sign-in").hidden = true;
  $("#board").hidden = false;
  $("#sign-out").hidden = false;
  $("#who").textContent = `${data.viewer.name} (${data.viewer.member}, ${data.viewer.role})`;
  $("#updated").textContent = when(data.generated_at);
  $("#updated").dateTime = data.generated_at;
  renderScopes(data);
  renderKillSwitch(data.pauses);
  renderSilences(data.silences);
  renderDays(data);
  renderCoverage(data.coverage);
  renderApprovals(data.approvals);
  renderAccounts(data.accounts);
  renderEngagement(data.engagement || []);
  renderFailures(data.failures);
  renderBroadcasts(data.broadcasts || []);
  renderCharts(data.charts);
}

function renderScopes(data) {
  const select = $("#scope");
  const chosen = data.scope;
  const options = [...new Set([data.scope, ...data.scopes.map((s) => s.scope)])];
  if ([...select.options].map((o) => o.value).join() !== options.join()) {
    select.replaceChildren(...options.map((s) => el("option", { value: s }, s)));
  }
  select.value = chosen;
}

function renderKillSwitch(pauses) {
  const body = $("#kill-switch .body");
  if (!pauses.length) {
    body.replaceChildren(el("span", { class: "pill off", "data-state": "running" }, t("running")));
    return;
  }
  body.replaceChildren(...pauses.map((p) => el("p", { "data-state": "paused" },
    el("span", { class: "pill on" }, t("paused")), ` ${p.scope} — ${p.reason} (${t("by")} ${p.by}, ${when(p.since)})`)));
}

function renderSilences(rows) {
  const body = $("#silences .body");
  body.replaceChildren(...rows.map((row) => el("p", { "data-constituency": row.constituency },
    `${row.name} (${row.constituency}) `, el("span", { class: `pill ${row.state}` }, t(row.state)), " ",
    el("span", { class: "countdown", "data-start": row.seconds_to_start, "data-close": row.seconds_to_close,
                 "data-state": row.state }, ""))));
  tick();
}

function tick() {
  if (!last) return;
  const elapsed = ((Date.now() - lastAt) / 1000) * (last.clock_speed || 1);
  for (const node of document.querySelectorAll(".countdown")) {
    const state = node.dataset.state;
    const left = Number(state === "before" ? node.dataset.start : node.dataset.close) - elapsed;
    node.textContent = state === "closed" ? "" : duration(Math.max(0, left));
  }
}

function renderDays(data) {
  const rows = data.totals.map((day) => el("tr", { "data-date": day.date }, el("td", {}, day.date),
    ...COLUMNS.map((c) => el("td", { class: "num", "data-column": c,
                                     title: c === "held" ? Object.entries(day.held_why).map(([k, v]) => `${k}: ${v}`).join(", ") : null },
                             day[c]))));
  $("#days .body").replaceChildren(table([t("date"), ...COLUMNS.map(t)], rows, true));
}

function renderCoverage(teams) {
  const dates = [...new Set(teams.flatMap((team) => team.days.map((d) => d.date)))].sort();
  const rows = teams.map((team) => {
    const counts = Object.fromEntries(team.days.map((d) => [d.date, d.posts]));
    return el("tr", { "data-team": team.team },
      el("th", {}, `${team.team}`, el("br"), el("small", {}, `${t("poll")} ${team.poll || "—"}`)),
      ...dates.map((date) => date in counts
        ? el("td", { class: counts[date] ? "covered" : "gap", "data-date": date }, counts[date] || t("gap"))
        : el("td", {}, "")));
  });
  $("#coverage .body").replaceChildren(table([t("team"), ...dates.map((d) => d.slice(5))], rows, false));
}

function renderApprovals(items) {
  const body = $("#approvals .body");
  // The page refreshes itself: a reason being typed, and where the cursor is, survive it.
  const typed = Object.fromEntries([...body.querySelectorAll(".queue-item")].map(
    (node) => [node.dataset.id, node.querySelector("input") ? node.querySelector("input").value : ""]));
  const focused = document.activeElement && document.activeElement.closest(".queue-item");
  const focusedId = focused && document.activeElement.tagName === "INPUT" ? focused.dataset.id : null;
  if (!items.length) return body.replaceChildren(el("p", {}, t("none_waiting")));
  body.replaceChildren(...items.map((item) => {
    const reason = el("input", { placeholder: t("reason"), "aria-label": t("reason") });
    reason.value = typed[item.id] || "";
    const approve = el("button", { type: "button", class: "approve" }, t("approve"));
    const reject = el("button", { type: "button", class: "reject" }, t("reject"));
    const note = el("span", { class: "error", role: "status" });
    approve.addEventListener("click", () => act(item, "approve", null, note));
    reject.addEventListener("click", () => {
      if (!reason.value.trim()) { note.textContent = t("need_reason"); return; }
      act(item, "reject", reason.value.trim(), note);
    });
    const actions = item.may_decide ? el("div", { class: "actions" }, approve, reason, reject, note)
      : el("p", { class: "hint" }, `${t("not_yours")}: ${item.why_not}`);
    return el("div", { class: "queue-item", "data-id": item.id },
      el("strong", {}, item.title || item.key), ` · ${item.scope} · ${t("due")} ${when(item.due_at)} · r${item.revision}`,
      ...(item.wording || []).map(wording), actions);
  }));
  const again = focusedId && body.querySelector(`.queue-item[data-id="${CSS.escape(focusedId)}"] input`);
  if (again) again.focus();
}

// What one account will publish, exactly: its text (or thread), link, media and template.
function wording(w) {
  const text = w.template ? `[${w.template.name}] ${(w.template.params || []).join(" · ")}`
    : w.thread ? w.thread.map((part, i) => `${i + 1}/${w.thread.length} ${part}`).join("\n\n") : (w.text || "");
  return el("div", { class: "wording", "data-account": w.account_id },
    el("p", { class: "hint" }, `${w.account_id} (${w.platform})`), el("p", {}, text),
    ...(w.link ? [el("p", { class: "hint" }, w.link)] : []),
    ...(w.media && w.media.length ? [el("p", { class: "hint" }, `🖼 ${w.media.join(", ")}`)] : []));
}

async function act(item, verb, reason, note) {
  note.textContent = "";
  try {
    await decide(item, verb, reason);
    note.textContent = t(verb === "approve" ? "approved" : "rejected");
    await load();
  } catch (problem) {
    note.textContent = problem.message;
  }
}

function renderAccounts(rows) {
  const body = $("#accounts .body");
  if (!rows.length) return body.replaceChildren(el("p", {}, t("all_healthy")));
  const lines = rows.map((a) => el("tr", { "data-account": a.account_id },
    el("td", {}, `${a.account_id} (${a.platform})`),
    el("td", {}, a.health + (a.until ? ` ${t("until")} ${when(a.until)}` : "")), el("td", {}, a.reason || "")));
  body.replaceChildren(table([t("account"), "", t("reason_col")], lines));
}

function renderEngagement(rows) {
  const body = $("#engagement .body");
  if (!rows.length) return body.replaceChildren(el("p", {}, t("no_engagement")));
  const lines = rows.map((r) => {
    const numbers = Object.entries(r).filter(([k]) => !["scope", "platform", "posts"].includes(k))
      .map(([k, v]) => `${k} ${v}`).join(" · ");
    return el("tr", { "data-scope": r.scope, "data-platform": r.platform }, el("td", {}, r.scope),
      el("td", {}, r.platform), el("td", { class: "num" }, r.posts), el("td", {}, numbers));
  });
  body.replaceChildren(table([t("scope"), t("platform"), t("posts"), ""], lines));
}

function renderFailures(rows) {
  const body = $("#failures .body");
  if (!rows.length) return body.replaceChildren(el("p", {}, t("no_failures")));
  const lines = rows.map((f) => el("tr", {}, el("td", {}, when(f.due_at)), el("td", {}, f.account_id),
    el("td", {}, f.title || f.id), el("td", {}, f.reason || "")));
  body.replaceChildren(table([t("due"), t("account"), t("title"), t("reason_col")], lines));
}

function renderBroadcasts(rows) {
  const body = $("#broadcasts .body");
  if (!rows.length) return body.replaceChildren(el("p", {}, t("no_broadcasts")));
  const lines = rows.map((b) => {
    const r = b.rollup || {};
    const failed = Object.entries(r.failed || {}).map(([why, n]) => `${n} × ${why}`).join("; ");
    return el("tr", { "data-broadcast": b.id }, el("td", {}, when(b.started_at)), el("td", {}, b.title || b.id),
      el("td", {}, b.scope), ...["contacts", "sent", "delivered", "read", "waiting", "skipped"].map(
        (k) => el("td", { class: "num" }, r[k] ?? 0)),
      el("td", { class: "num", title: failed }, r.failed_total ?? 0));
  });
  body.replaceChildren(table([t("began"), t("title"), t("scope"), t("contacts"), t("sent"), t("delivered"),
    t("read"), t("waiting"), t("skipped"), t("failed")], lines));
}

// ---- charts (uPlot, shipped with the page) ----------------------------------------------------------------------
function renderCharts(data) {
  while (charts.length) charts.pop().destroy();
  lineChart("#chart-scope", data.per_constituency);
  lineChart("#chart-platform", data.per_platform);
  memberChart("#chart-member", data.uploads_per_member);
}

function width(selector) {
  return Math.max(280, $(selector).clientWidth || 600);
}

function lineChart(selector, chart) {
  const target = $(selector);
  target.replaceChildren();
  const xs = chart.dates.map((d) => Date.parse(`${d}T00:00:00+05:30`) / 1000);
  const series = chart.series.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2 }));
  charts.push(new uPlot({ width: width(selector), height: 220, series: [{}, ...series],
                          axes: [{}, { size: 40 }], scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } } },
                        [xs, ...chart.series.map((s) => s.values)], target));
}

function memberChart(selector, rows) {
  const target = $(selector);
  target.replaceChildren();
  if (!rows.length) return target.append(el("p", {}, t("no_uploads")));
  const top = rows.slice(0, 20);
  const bars = uPlot.paths.bars({ size: [0.6, 40] });
  charts.push(new uPlot({
    width: width(selector), height: 220, series: [{}, { label: t("per_member"), fill: "#e85d04aa", stroke: "#e85d04", paths: bars, points: { show: false } }],
    scales: { x: { time: false, range: [-0.5, top.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [{ values: (u, splits) => splits.map((i) => (Number.isInteger(i) && top[i] ? top[i].member : "")), rotate: -30, size: 70 },
           { size: 40 }],
  }, [top.map((_, i) => i), top.map((r) => r.uploads)], target));
}

// ---- start ------------------------------------------------------------------------------------------------------
async function start() {
  translate();
  $("#language").addEventListener("click", () => {
    lang = lang === "hi" ? "en" : "hi";
    localStorage.setItem("prachar.lang", lang);
    translate();
    if (last) render(last);
  });
  $("#sign-out").addEventListener("click", () => signOut());
  $("#sign-in").addEventListener("submit", signIn);
  $("#scope").addEventListener("change", load);
  identity = await (await fetch("dashboard/identity.json")).json();
  await load();
  setInterval(() => { if (token && !document.hidden) load(); }, REFRESH_MS);
  setInterval(tick, 1000);
}

start();
