// The upload page and the job page of deepfake-analyzer's web service (no dependencies).
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "deepfake-analyzer-token";
const POLL_MS = 700;
const STAGE_NAMES = {
  starting: "Starting",
  decode: "Reading frames and finding faces",
  classify: "Scoring faces",
};

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

function authHeaders() {
  const t = token();
  return t ? { Authorization: "Bearer " + t } : {};
}

function $(id) { return document.getElementById(id); }

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

// Ask for the API token when the server answers 401, then run `retry`.
function askToken(retry) {
  const form = $("token-form");
  form.hidden = false;
  $("token").focus();
  form.onsubmit = (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    form.hidden = true;
    retry();
  };
}

async function api(path, options = {}) {
  const response = await fetch(API + path, {
    ...options, headers: { ...authHeaders(), ...(options.headers || {}) }, cache: "no-store",
  });
  if (response.status === 401) {
    const error = new Error("unauthorized");
    error.status = 401;
    throw error;
  }
  return response;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return body.message || response.statusText;
  } catch (_) {
    return response.status + " " + response.statusText;
  }
}

function verdictText(verdict) {
  if (!verdict) return "";
  const score = verdict.score === null ? "" : " (score " + verdict.score.toFixed(3) + ")";
  return verdict.label + score;
}

function labelSpan(verdict) {
  const span = document.createElement("span");
  span.className = "label " + verdict.label;
  span.textContent = verdict.label;
  return span;
}

// ---- upload page -------------------------------------------------------------------------

function initIndex() {
  const zone = $("dropzone");
  const input = $("file");
  input.addEventListener("change", () => { if (input.files.length) upload(input.files[0]); });
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.remove("over");
  }));
  zone.addEventListener("drop", (event) => {
    const files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) upload(files[0]);
  });
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
  loadRecent();
}

function upload(file) {
  showError("");
  const form = new FormData();
  document.querySelectorAll("#upload-form details input").forEach((field) => {
    if (field.value !== "") form.append(field.name, field.value);
  });
  form.append("file", file, file.name);
  $("upload-status").hidden = false;
  $("upload-name").textContent = file.name;
  $("upload-progress").value = 0;
  $("upload-percent").textContent = "0 %";

  const xhr = new XMLHttpRequest();
  xhr.open("POST", API + "/analyses");
  const headers = authHeaders();
  Object.keys(headers).forEach((name) => xhr.setRequestHeader(name, headers[name]));
  xhr.upload.onprogress = (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.round((100 * event.loaded) / event.total);
    $("upload-progress").value = percent;
    $("upload-percent").textContent = percent + " %";
  };
  xhr.onload = () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
    if (xhr.status === 202) {
      $("upload-percent").textContent = "uploaded, opening the analysis...";
      window.location.href = body.links.page;
    } else if (xhr.status === 401) {
      $("upload-status").hidden = true;
      askToken(() => upload(file));
    } else {
      $("upload-status").hidden = true;
      showError(body.message || "upload failed (" + xhr.status + ")");
    }
  };
  xhr.onerror = () => {
    $("upload-status").hidden = true;
    showError("the upload did not reach the server (connection lost or refused)");
  };
  xhr.send(form);
}

async function loadRecent() {
  let response;
  try {
    response = await api("/analyses?limit=50");
  } catch (error) {
    if (error.status === 401) askToken(loadRecent);
    return;
  }
  if (!response.ok) return;
  const body = await response.json();
  const tbody = document.querySelector("#recent tbody");
  tbody.replaceChildren();
  $("recent-empty").hidden = body.analyses.length > 0;
  for (const job of body.analyses) {
    const row = document.createElement("tr");
    const name = document.createElement("td");
    const link = document.createElement("a");
    link.href = job.links.page;
    link.textContent = job.filename;
    name.append(link);
    const status = document.createElement("td");
    status.textContent = job.status;
    const verdict = document.createElement("td");
    if (job.verdict) verdict.append(labelSpan(job.verdict));
    const created = document.createElement("td");
    created.textContent = new Date(job.created_utc).toLocaleString();
    row.append(name, status, verdict, created);
    tbody.append(row);
  }
  if (body.analyses.some((job) => job.status === "queued" || job.status === "running")) {
    setTimeout(loadRecent, 2000);
  }
}

// ---- job page ----------------------------------------------------------------------------

function jobId() { return decodeURIComponent(window.location.pathname.split("/").pop()); }

function initJob() {
  $("delete").addEventListener("click", deleteJob);
  for (const fmt of ["html", "json", "csv"]) {
    $("link-" + fmt).addEventListener("click", (event) => {
      if (!token()) return; // plain link works without a token
      event.preventDefault();
      openWithToken(event.currentTarget.href, fmt);
    });
  }
  poll();
}

async function poll() {
  let response;
  try {
    response = await api("/analyses/" + encodeURIComponent(jobId()));
  } catch (error) {
    if (error.status === 401) { askToken(poll); return; }
    $("status").textContent = "Cannot reach the server; retrying...";
    setTimeout(poll, POLL_MS * 3);
    return;
  }
  if (!response.ok) {
    $("status").textContent = "";
    showError(await errorMessage(response));
    return;
  }
  const job = await response.json();
  render(job);
  if (job.status === "queued" || job.status === "running") setTimeout(poll, POLL_MS);
}

function render(job) {
  document.title = job.filename + " - deepfake-analyzer";
  $("filename").textContent = job.filename;
  const box = $("progress-box");
  if (job.status === "queued") {
    $("status").textContent = "Queued: waiting for a free worker...";
    box.hidden = true;
  } else if (job.status === "running") {
    $("status").textContent = "Analyzing...";
    box.hidden = false;
    const bar = $("stage-progress");
    const p = job.progress;
    if (p.total > 0) { bar.max = p.total; bar.value = Math.min(p.done, p.total); }
    else { bar.removeAttribute("value"); }
    const stage = STAGE_NAMES[p.stage] || p.stage;
    $("stage-text").textContent = stage + (p.total > 0 ? ": " + p.done + " / " + p.total
      : p.done ? ": " + p.done : "");
  } else if (job.status === "failed") {
    $("status").textContent = "Failed";
    box.hidden = true;
    showError(job.error || "the analysis failed");
    $("links").hidden = false;
    for (const fmt of ["html", "json", "csv"]) $("link-" + fmt).hidden = true;
  } else if (job.status === "done") {
    $("status").textContent = "Done";
    box.hidden = true;
    const verdict = $("verdict");
    verdict.hidden = false;
    verdict.dataset.label = job.verdict.label;
    verdict.replaceChildren("Verdict: ", labelSpan(job.verdict),
      job.verdict.score === null ? "" : " (score " + job.verdict.score.toFixed(3) + ")");
    $("link-html").href = job.links.report_html;
    $("link-json").href = job.links.report_json;
    $("link-csv").href = job.links.report_csv;
    $("links").hidden = false;
    showReport(job.links.report_html);
  }
}

async function showReport(url) {
  const frame = $("report");
  if (!token()) { frame.src = url; frame.hidden = false; return; }
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) { showError(await errorMessage(response)); return; }
  const html = await response.text();
  frame.src = URL.createObjectURL(new Blob([html], { type: "text/html" }));
  frame.hidden = false;
}

async function openWithToken(url, fmt) {
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) { showError(await errorMessage(response)); return; }
  const blobUrl = URL.createObjectURL(await response.blob());
  if (fmt === "html") { window.open(blobUrl, "_blank", "noopener"); return; }
  const a = document.createElement("a");
  a.href = blobUrl;
  a.download = $("filename").textContent.replace(/\.[^.]*$/, "") + "." + fmt;
  document.body.append(a);
  a.click();
  a.remove();
}

async function deleteJob() {
  if (!window.confirm("Delete this analysis and its reports?")) return;
  const response = await api("/analyses/" + encodeURIComponent(jobId()), { method: "DELETE" });
  if (response.status === 204) window.location.href = "/";
  else showError(await errorMessage(response));
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page === "index") initIndex();
  if (document.body.dataset.page === "job") initJob();
});
