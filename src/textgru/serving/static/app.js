// textgru's page: classify as you type (debounced POST /predict), stream a generation (POST /generate with
// "stream": true, read as Server-Sent Events), and show /info. Errors from the server are shown on the page.
"use strict";

const $ = (id) => document.getElementById(id);

// each part of the page has its own error box: one part's error is not hidden by the other's success
function showError(box, message) {
  $(box).textContent = message;
  $(box).hidden = false;
}

function clearError(box) {
  $(box).hidden = true;
  $(box).textContent = "";
}

async function errorOf(response) {
  try {
    const body = await response.json();
    return body.error || JSON.stringify(body);
  } catch (e) {
    return `${response.status} ${response.statusText}`;
  }
}

async function postRaw(path, json, signal) {
  return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: json, signal });
}

async function postJSON(path, body, signal) {
  return postRaw(path, JSON.stringify(body), signal);
}

// ---- /info ----
function addRows(dl, rows) {
  for (const [name, value] of rows) {
    if (value === undefined || value === null || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
    dl.append(dt, dd);
  }
}

function fmt(x) {
  return typeof x === "number" ? Number(x.toPrecision(4)) : x;
}

let labelOrder = []; // the classifier's labels as /info lists them: the bars follow it
let maxLength = null; // the most tokens of a text the classifier reads (/info): a longer text is said to be cut
const MAX_BARS = 10; // more labels (a 300-label model): the 10 likeliest bars, then how many more
let promptTyped = false; // the prompt is the user's once typed in: /info's example prompt does not replace it
let infoReading = false; // an /info request in flight: a failed request does not start a second
let infoAgain = false; // ...but has it read again once that one answers (it may have left before the restart)
let infoRetry = null; // the timer of the next try while /info cannot be read
let infoWait = 1; // that try's wait, in seconds
const MOST_WAIT = 5; // seconds (a review: at 30 s the page said "waiting" for ~25 s after the server was back)
// the parts whose error says the server could not be reached (or failed, for /predict): classified again once, or
// the outage said to be over (generate), when /info answers again (a review: "cannot be reached" stayed up)
const outage = new Set();
let reclassified = false; // the text in the box was classified again once after an outage: not again (no loop)

// after a request failed (a server restarting, perhaps with other models), /info is read again: the page does not
// go on showing the previous server's models (a review). A try waiting on its timer is brought forward (a review:
// a 404 left the page on the previous server's models until a 30 s retry came round).
function refreshInfo() {
  if (infoReading) infoAgain = true;
  else if (infoRetry !== null) {
    clearTimeout(infoRetry);
    infoRetry = null;
    loadInfo(infoWait);
  } else loadInfo();
}

async function loadInfo(wait = 1) {
  let info;
  infoReading = true;
  infoAgain = false;
  try {
    const response = await fetch("info", { cache: "no-store" });
    if (!response.ok) throw new Error(await errorOf(response));
    info = await response.json();
  } catch (e) { // a server restarting answers 503 for a while: try again, less and less often
    infoReading = false;
    reclassified = false; // the server is away: the text is classified again once it is back
    // said once an outage (a review: an alert rewritten at each try interrupts a screen reader each time); the
    // countdown goes in the summary, which is not a live region
    if ($("error").hidden) showError("error", `/info could not be read (${failure(e)}); trying again until it answers`);
    $("summary").textContent = `Waiting for the server… (next try in ${wait} s)`;
    infoWait = Math.min(2 * wait, MOST_WAIT);
    infoRetry = setTimeout(() => { infoRetry = null; loadInfo(infoWait); }, 1000 * wait);
    return;
  }
  infoReading = false;
  if (infoAgain) { loadInfo(); return; } // a request failed meanwhile: this answer may be the previous server's
  clearError("error");
  afterOutage();
  const models = info.models || {};
  const parts = [];
  const box = $("model-info");
  box.textContent = "";
  for (const [kind, m] of Object.entries(models)) {
    const title = document.createElement("h3");
    title.textContent = kind === "classifier" ? "Classifier" : "Language model";
    const dl = document.createElement("dl");
    const metrics = m.metrics ? Object.entries(m.metrics).filter(([, v]) => typeof v === "number")
      .map(([k, v]) => `${k} ${fmt(v)}`).join(", ") : null;
    addRows(dl, [["task", m.task], ["labels", m.labels ? m.labels.join(", ") : null], ["vocabulary size", m.vocab_size],
                 ["max length", m.max_length && `${m.max_length} tokens (a longer text is read as far as that)`],
                 ["backend", m.backend], ["precision", m.precision], ["checkpoint", m.checkpoint],
                 ["exported from", m.exported_from], ["training metrics", metrics],
                 ["stopped by", m.metrics && m.metrics.stopped_by], ["trained with textgru", m.trained_with_textgru]]);
    box.append(title, dl);
    if (kind === "classifier") [labelOrder, maxLength] = [m.labels || [], m.max_length];
    const labels = m.labels || [];
    const named = labels.length > MAX_BARS ? `${labels.length} labels: ${labels.slice(0, 5).join(" / ")} ...` : labels.join(" / ");
    parts.push(kind === "classifier" ? `a classifier (${named})` : `a language model (${m.vocab_size} tokens)`);
  }
  const server = document.createElement("dl");
  addRows(server, [["textgru version", info.textgru_version], ["limits", info.limits], ["batching", info.batching]]);
  box.append(server);
  $("summary").textContent = `Serving ${parts.join(" and ")} · textgru ${info.textgru_version}`;
  $("classify").hidden = !models.classifier;
  $("generate").hidden = !models.lm;
  if (models.lm && !promptTyped) $("prompt").value = models.lm.example_prompt || "";
  const cap = info.limits && info.limits.max_new_tokens; // the browser's arrows stop there
  if (cap) $("max_new_tokens").max = cap;
  if (cap && Number($("max_new_tokens").value) > cap) $("max_new_tokens").value = cap; // a review: 300 over a cap of 100
}

function afterOutage() {
  if (outage.delete("classify") && !reclassified) {
    reclassified = true;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { if (!$("classify").hidden) classify(); }, 0); // once this /info is shown
  }
  if (outage.delete("generate") && $("gen-status").textContent === "failed") {
    showError("generate-error", "The server answers again: Generate to try again.");
  }
}

// a request that was answered while /info could not be read: the server is back, so /info is read now (a review:
// "/info could not be read" stayed up while /predict answered)
function answered() {
  if (infoRetry !== null) refreshInfo();
}
$("prompt").addEventListener("input", () => { promptTyped = true; });

// ---- /predict, debounced ----
let typingTimer = null;
let predictSeq = 0;

// the label and bars shown are an earlier text's until this one's answer comes: greyed, "classifying…" (a review: on
// a slow server the previous text's label stayed, unmarked, beside the new text for up to the 30 s timeout)
function markStale(stale) {
  if (stale && $("label").classList.contains("stale")) return; // said once, not at each keystroke
  $("label").classList.toggle("stale", stale);
  $("bars").classList.toggle("stale", stale);
  if (stale) $("score").textContent = "classifying…";
}

function renderPrediction(p) {
  markStale(false);
  $("label").textContent = p.label;
  $("label").dir = "auto"; // "(28.4%)" stays after a right-to-left label
  $("score").textContent = `(${(100 * p.score).toFixed(1)}%)`;
  const bars = $("bars");
  bars.textContent = "";
  // in the model's label order: a JSON object's number-like keys ("-1", "0", "1") come first in JavaScript
  let names = labelOrder.filter((name) => name in p.probs);
  for (const name of Object.keys(p.probs)) if (!names.includes(name)) names.push(name);
  const hidden = names.length - MAX_BARS;
  if (hidden > 0) names = names.sort((a, b) => p.probs[b] - p.probs[a]).slice(0, MAX_BARS); // many labels: the likeliest
  for (const [name, prob] of names.map((name) => [name, p.probs[name]])) {
    const row = document.createElement("div");
    row.className = "bar" + (name === p.label ? " best" : "");
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    label.title = name; // the whole name where a long one is cut short with an ellipsis
    label.dir = "auto"; // a right-to-left label keeps its own direction
    const track = document.createElement("div");
    track.className = "track";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = `${(100 * prob).toFixed(1)}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = prob.toFixed(3);
    row.append(label, track, value);
    bars.append(row);
  }
  const said = names.map((name) => `${name} ${(100 * p.probs[name]).toFixed(1)}%`).join(", "); // for screen readers
  bars.setAttribute("aria-label", `probability per label: ${said}${hidden > 0 ? `, and ${hidden} more` : ""}`);
  if (hidden > 0) {
    const more = document.createElement("div");
    more.className = "more";
    more.textContent = `and ${hidden} more labels, each ${p.probs[names[names.length - 1]].toFixed(3)} or less`;
    bars.append(more);
  }
}

function clearPrediction() {
  markStale(false);
  $("cut-note").hidden = true;
  $("cut-note").textContent = "";
  $("label").textContent = "–";
  $("score").textContent = "";
  $("bars").textContent = "";
  $("bars").setAttribute("aria-label", "probability per label");
}

async function classify() {
  const text = $("text").value;
  const seq = ++predictSeq;
  // nothing visible: spaces (and what Python's strip() takes, as the server does), control and format characters,
  // lone marks, and what Unicode says to draw as nothing (DI) or blank: the Hangul fillers, the blank Braille pattern
  // (reviews: U+3164, U+2800 and U+115F U+1160 were sent and labelled, and \x01 or \x7f alone)
  if (!text.replace(/[\s\u2800\p{Cc}\p{Cf}\p{Mn}\p{Me}\p{DI}]/gu, "")) {
    clearPrediction();
    clearError("classify-error");
    // said, not left blank (a review: a zero-width space alone showed nothing, though /predict labels it)
    if (text) $("score").textContent = "nothing visible to classify";
    return;
  }
  try {
    const response = await postJSON("predict", { text });
    const answer = response.ok ? await response.json() : await errorOf(response);
    if (seq !== predictSeq) return; // a newer request answers instead (checked once the whole answer is read)
    if (!response.ok) {
      clearPrediction(); // the label shown was an earlier text's
      showError("classify-error", `/predict: ${inPageWords(answer)}`); // a review: "(limits.max_chars)"
      if (response.status >= 500) outage.add("classify");
      if (response.status >= 500 || response.status === 404) refreshInfo();
      return;
    }
    outage.delete("classify");
    reclassified = false;
    clearError("classify-error");
    renderPrediction(answer);
    const cut = pastMaxLength(text, maxLength); // the note's text only then: a hidden one still describes the box
    $("cut-note").hidden = !cut;
    $("cut-note").textContent = cut ? `Longer than the classifier reads: the label is for its first ${maxLength} tokens.` : "";
    answered();
  } catch (e) {
    if (seq === predictSeq) {
      clearPrediction();
      showError("classify-error", `/predict failed: ${failure(e)}`);
      outage.add("classify");
      refreshInfo();
    }
  }
}

$("text").addEventListener("input", () => {
  reclassified = false;
  predictSeq++; // an answer on its way is an earlier text's, even one that comes in the typing pause
  markStale(true);
  clearTimeout(typingTimer);
  typingTimer = setTimeout(classify, 250);
});

// ---- /generate, streamed ----
let controller = null;

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  const raw = data.join("\n");
  const parsed = data.length ? JSON.parse(raw) : null;
  // a seed is a 63-bit integer: JSON.parse rounds it above 2**53, so it is shown as the server wrote it
  const seed = /"seed":\s*(-?\d+)/.exec(raw);
  if (parsed && seed) parsed.seed = seed[1];
  return { event, data: parsed };
}

function handleEvent({ event, data }, started) {
  if (event === "piece") {
    $("output-text").append(document.createTextNode(data.text));
  } else if (event === "done") {
    const seconds = (performance.now() - started) / 1000;
    $("gen-status").textContent =
      `done: ${data.new_tokens} new tokens in ${seconds.toFixed(2)} s (${data.finish_reason}), seed ${data.seed}`;
  } else if (event === "error") {
    showError("generate-error", `/generate: ${data.error}`);
    $("gen-status").textContent = "failed";
    refreshInfo(); // e.g. "the server is shutting down"
  }
}

// A knob's value, or a one-line problem. A number box the browser cannot read ("1e400", "--3") reads as empty:
// it is refused, not sent as the default.
function knobs() {
  for (const id of ["max_new_tokens", "seed"]) {
    if ($(id).validity.badInput) return { problem: `${$(id).labels[0].textContent.trim()}: not a number` };
  }
  const tokens = $("max_new_tokens").value.trim();
  if (tokens !== "" && !/^[+-]?\d+$/.test(tokens)) return { problem: `New tokens: ${tokens} is not a whole number` };
  const seed = $("seed").value.trim();
  if (seed !== "" && !/^[+-]?\d+$/.test(seed)) return { problem: `Seed: ${seed} is not a whole number (empty: random)` };
  return { tokens: asJSON(tokens), seed: asJSON(seed) };
}

// a whole number as JSON writes it, digits as typed (JSON has no leading zeros or "+": 007 is 7)
function asJSON(digits) {
  return digits.replace(/^\+/, "").replace(/^(-?)0+(?=\d)/, "$1");
}

async function generate() {
  clearError("generate-error");
  const { problem, tokens, seed } = knobs();
  if (problem) {
    showError("generate-error", problem);
    $("gen-status").textContent = ""; // an earlier generation's "done: ..." is not this one's
    $("output-prompt").textContent = ""; // nor its text (a review: it stayed, unlabelled, beside the refusal)
    $("output-text").textContent = "";
    $("prompt-said").hidden = $("text-said").hidden = true;
    $("gen-said").textContent = "";
    return;
  }
  const body = {
    prompt: $("prompt").value,
    temperature: Number($("temperature").value),
    top_p: Number($("top_p").value),
    stream: true,
  };
  if ($("allow_unknown").checked) body.allow_unknown = true;
  $("output-prompt").textContent = body.prompt;
  $("output-text").textContent = "";
  $("prompt-said").hidden = !body.prompt; // the grey prompt and the continuation, told apart by a screen reader
  $("text-said").hidden = false;
  $("gen-said").textContent = ""; // (emptied: the same text said again next time)
  $("gen-status").textContent = "generating…";
  const fromGo = document.activeElement === $("go");
  $("go").disabled = true;
  $("stop").disabled = false;
  if (fromGo) $("stop").focus(); // a disabled button drops the keyboard focus to the page
  controller = new AbortController();
  const started = performance.now();
  try {
    // new tokens and the seed go as typed (a JavaScript number holds integers exactly only up to 2**53); the server
    // checks them (a review: New tokens 9007199254740993 was refused as 9007199254740992, and 10**23 as not an
    // integer); empty: the server's default, or a random seed
    const typed = [["max_new_tokens", tokens], ["seed", seed]].filter(([, v]) => v !== "").map(([k, v]) => `,"${k}":${v}`);
    const json = JSON.stringify(body).replace(/}$/, `${typed.join("")}}`);
    const response = await postRaw("generate", json, controller.signal);
    if (!response.ok) {
      // the server's advice in the page's words: the box on the page, not the API's field
      showError("generate-error", `/generate: ${inPageWords(await errorOf(response))}`);
      $("prompt-said").hidden = $("text-said").hidden = true; // no continuation to tell apart
      $("gen-status").textContent = "failed";
      if (response.status >= 500 || response.status === 404) refreshInfo(); // (its error says why: it stays)
      return;
    }
    outage.delete("generate");
    answered();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.trim()) handleEvent(parseEvent(block), started);
      }
    }
    if ($("gen-status").textContent === "generating…") $("gen-status").textContent = "ended without an answer";
  } catch (e) {
    if (e.name === "AbortError") $("gen-status").textContent = "stopped";
    else {
      showError("generate-error", `/generate failed: ${failure(e)}`);
      $("gen-status").textContent = "failed";
      outage.add("generate");
      refreshInfo();
    }
  } finally {
    // the finished text said once, not each piece as it comes (an accessibility review: never heard)
    const [text, end] = [$("output-text").textContent, $("gen-status").textContent.split(":")[0]];
    if (text) $("gen-said").textContent = `Generated text, ${end}: ${text}`;
    const focused = document.activeElement === $("stop") || document.activeElement === document.body;
    $("go").disabled = false;
    $("stop").disabled = true;
    controller = null;
    if (focused) $("go").focus(); // a keyboard user goes on from the button that started it
  }
}

$("go").addEventListener("click", generate);
function generateOnEnter(event, needsCtrl) { // Enter in a number box, Ctrl+Enter in the prompt, as a form would
  if (event.key !== "Enter" || (needsCtrl && !(event.ctrlKey || event.metaKey)) || $("go").disabled) return;
  event.preventDefault();
  generate();
}
$("prompt").addEventListener("keydown", (e) => generateOnEnter(e, true));
for (const id of ["max_new_tokens", "seed"]) $(id).addEventListener("keydown", (e) => generateOnEnter(e, false));
$("stop").addEventListener("click", () => { if (controller) controller.abort(); });
document.addEventListener("keydown", (e) => { // Escape stops a stream from the generate section, not from the text box
  const here = document.activeElement === document.body || $("generate").contains(document.activeElement);
  if (e.key === "Escape" && !e.isComposing && here && controller) controller.abort();
});
for (const id of ["temperature", "top_p"]) {
  $(id).addEventListener("input", () => { $(`${id}-value`).textContent = $(id).value; });
}

loadInfo();
